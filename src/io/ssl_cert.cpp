// SSLSocket::getpeercert: the peer's certificate in Python's shape.
#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memory>

#include "gevent/ssl.hpp"

namespace gevent::ssl::detail {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

void free_general_names(GENERAL_NAMES* names) { GENERAL_NAMES_free(names); }
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, free_general_names>>;

std::string utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  const int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) return {};
  std::string text(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return text;
}

PeerCertificate::Name name_pairs(const X509_NAME* name) {
  PeerCertificate::Name pairs;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const ASN1_OBJECT* object = X509_NAME_ENTRY_get_object(entry);
    const int nid = OBJ_obj2nid(object);
    std::string key;
    if (nid != NID_undef) {
      key = OBJ_nid2ln(nid);
    } else {
      char text[128];
      OBJ_obj2txt(text, sizeof(text), object, 1);
      key = text;
    }
    pairs.emplace_back(std::move(key), utf8(X509_NAME_ENTRY_get_data(entry)));
  }
  return pairs;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = "";
  const int len = ASN1_STRING_length(ip);
  const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : AF_UNSPEC;
  if (family == AF_UNSPEC || !inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof(text)))
    return "<invalid>";
  return text;
}

PeerCertificate::Name alt_names(X509* cert) {
  PeerCertificate::Name pairs;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    switch (name->type) {
      case GEN_DNS:
        pairs.emplace_back("DNS", utf8(name->d.dNSName));
        break;
      case GEN_IPADD:
        pairs.emplace_back("IP Address", ip_text(name->d.iPAddress));
        break;
      case GEN_EMAIL:
        pairs.emplace_back("email", utf8(name->d.rfc822Name));
        break;
      case GEN_URI:
        pairs.emplace_back("URI", utf8(name->d.uniformResourceIdentifier));
        break;
      default:
        break;
    }
  }
  return pairs;
}

std::string time_text(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string serial_text(const ASN1_INTEGER* serial) {
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  std::string text = hex ? hex : "";
  OPENSSL_free(hex);
  return text;
}

std::string der_of(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n < 0) return {};
  std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return bytes;
}

}  // namespace

std::optional<PeerCertificate> peer_certificate(SSL* ssl) {
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return std::nullopt;
  PeerCertificate pc;
  pc.der = der_of(cert.get());
  // As Python: the fields only when the certificate was verified.
  pc.verified =
      (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && SSL_get_verify_result(ssl) == X509_V_OK;
  if (!pc.verified) return pc;
  pc.subject = name_pairs(X509_get_subject_name(cert.get()));
  pc.issuer = name_pairs(X509_get_issuer_name(cert.get()));
  pc.subject_alt_name = alt_names(cert.get());
  pc.serial_number = serial_text(X509_get0_serialNumber(cert.get()));
  pc.not_before = time_text(X509_get0_notBefore(cert.get()));
  pc.not_after = time_text(X509_get0_notAfter(cert.get()));
  pc.version = static_cast<int>(X509_get_version(cert.get())) + 1;
  return pc;
}

}  // namespace gevent::ssl::detail
