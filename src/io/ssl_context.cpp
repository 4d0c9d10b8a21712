// SSLContext: settings and certificates over an SSL_CTX.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <stdexcept>

#include "gevent/ssl.hpp"
#include "io/ssl_context_impl.hpp"
#include "io/ssl_session.hpp"

namespace gevent::ssl {

namespace detail {
namespace {

constexpr unsigned char kSessionIdContext[] = "gevent-cpp";

// Server side ALPN: the first of our protocols that the client offers (as Python).
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const std::string& ours = static_cast<ContextImpl*>(arg)->alpn_wire;
  unsigned char* chosen = nullptr;
  const int r =
      SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(ours.data()),
                            static_cast<unsigned int>(ours.size()), in, inlen);
  if (r != OPENSSL_NPN_NEGOTIATED || ours.empty()) return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// The key's password: what load_cert_chain was given, never a terminal prompt.
int key_password(char* buf, int size, int, void* arg) {
  const auto* password = static_cast<const std::string*>(arg);
  if (!password || password->empty() || password->size() > static_cast<std::size_t>(size))
    return -1;
  std::memcpy(buf, password->data(), password->size());
  return static_cast<int>(password->size());
}

int to_openssl_version(TLSVersion v, bool minimum) {
  if (v == TLSVersion::MINIMUM_SUPPORTED) return minimum ? 0 : TLS1_VERSION;
  if (v == TLSVersion::MAXIMUM_SUPPORTED) return minimum ? TLS1_3_VERSION : 0;
  return static_cast<int>(v);
}

TLSVersion from_openssl_version(long v, bool minimum) {
  if (v == 0) return minimum ? TLSVersion::MINIMUM_SUPPORTED : TLSVersion::MAXIMUM_SUPPORTED;
  return static_cast<TLSVersion>(v);
}

}  // namespace

ContextImpl::ContextImpl(Protocol p) : protocol(p) {
  ctx.reset(SSL_CTX_new(p == PROTOCOL_TLS_CLIENT ? TLS_client_method() : TLS_server_method()));
  check_openssl(ctx != nullptr, "SSLContext");
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_options(
      c, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // Partial writes: send() returns after each record, as a socket's send does. Moving
  // buffer: a retried write may come from another address (sendall's remaining data).
  // Release buffers: an idle connection keeps no 34 KB read/write buffers (as nginx, Python).
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
  check_openssl(SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) == 1, "SSLContext");
  SSL_CTX_set_session_id_context(c, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(c), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_CTX_set_default_passwd_cb(c, key_password);
  SSL_CTX_set_default_passwd_cb_userdata(c, nullptr);
  if (p == PROTOCOL_TLS_CLIENT) {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    check_hostname = true;
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_tlsext_servername_callback(c, TlsSession::on_servername);
    SSL_CTX_set_tlsext_servername_arg(c, this);
  }
}

}  // namespace detail

using detail::check_openssl;

SSLContext::SSLContext(Protocol protocol)
    : impl_(std::make_shared<detail::ContextImpl>(protocol)) {}

Protocol SSLContext::protocol() const { return impl_->protocol; }

ssl_ctx_st* SSLContext::native_handle() const { return impl_->ctx.get(); }

void SSLContext::load_cert_chain(const std::string& certfile, const std::string& keyfile,
                                 const std::string& password) {
  SSL_CTX* c = impl_->ctx.get();
  const std::string& key = keyfile.empty() ? certfile : keyfile;
  ERR_clear_error();
  check_openssl(SSL_CTX_use_certificate_chain_file(c, certfile.c_str()) == 1,
                "SSLContext::load_cert_chain('" + certfile + "')");
  SSL_CTX_set_default_passwd_cb_userdata(c, const_cast<std::string*>(&password));
  const bool key_loaded = SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) == 1;
  SSL_CTX_set_default_passwd_cb_userdata(c, nullptr);
  check_openssl(key_loaded, "SSLContext::load_cert_chain(key '" + key + "')");
  check_openssl(SSL_CTX_check_private_key(c) == 1,
                "SSLContext::load_cert_chain: the key does not match the certificate");
}

void SSLContext::load_verify_locations(const std::string& cafile, const std::string& capath) {
  if (cafile.empty() && capath.empty())
    throw std::invalid_argument("gevent::ssl::load_verify_locations: cafile or capath needed");
  ERR_clear_error();
  check_openssl(
      SSL_CTX_load_verify_locations(impl_->ctx.get(), cafile.empty() ? nullptr : cafile.c_str(),
                                    capath.empty() ? nullptr : capath.c_str()) == 1,
      "SSLContext::load_verify_locations('" + cafile + "', '" + capath + "')");
}

void SSLContext::load_verify_data(std::string_view pem) {
  ERR_clear_error();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                BIO_free);
  check_openssl(bio != nullptr, "SSLContext::load_verify_data");
  std::unique_ptr<STACK_OF(X509_INFO), void (*)(STACK_OF(X509_INFO)*)> infos(
      PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr),
      [](STACK_OF(X509_INFO) * s) { sk_X509_INFO_pop_free(s, X509_INFO_free); });
  check_openssl(infos != nullptr, "SSLContext::load_verify_data");
  X509_STORE* store = SSL_CTX_get_cert_store(impl_->ctx.get());
  int added = 0;
  for (int i = 0; i < sk_X509_INFO_num(infos.get()); ++i) {
    X509* cert = sk_X509_INFO_value(infos.get(), i)->x509;
    if (!cert) continue;
    check_openssl(X509_STORE_add_cert(store, cert) == 1, "SSLContext::load_verify_data");
    ++added;
  }
  if (added == 0)
    throw std::invalid_argument("gevent::ssl::load_verify_data: no PEM certificate in the data");
}

void SSLContext::set_default_verify_paths() {
  ERR_clear_error();
  check_openssl(SSL_CTX_set_default_verify_paths(impl_->ctx.get()) == 1,
                "SSLContext::set_default_verify_paths");
}

VerifyMode SSLContext::verify_mode() const {
  const int mode = SSL_CTX_get_verify_mode(impl_->ctx.get());
  if (!(mode & SSL_VERIFY_PEER)) return CERT_NONE;
  return (mode & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) ? CERT_REQUIRED : CERT_OPTIONAL;
}

void SSLContext::set_verify_mode(VerifyMode mode) {
  if (mode == CERT_NONE && impl_->check_hostname)
    throw std::invalid_argument(
        "gevent::ssl: cannot set verify_mode to CERT_NONE when check_hostname is enabled");
  const int flags = mode == CERT_NONE       ? SSL_VERIFY_NONE
                    : mode == CERT_OPTIONAL ? SSL_VERIFY_PEER
                                            : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(impl_->ctx.get(), flags, nullptr);
}

bool SSLContext::check_hostname() const { return impl_->check_hostname; }

void SSLContext::set_check_hostname(bool on) {
  if (on && verify_mode() == CERT_NONE) set_verify_mode(CERT_REQUIRED);
  impl_->check_hostname = on;
}

TLSVersion SSLContext::minimum_version() const {
  return detail::from_openssl_version(SSL_CTX_get_min_proto_version(impl_->ctx.get()), true);
}

void SSLContext::set_minimum_version(TLSVersion version) {
  check_openssl(SSL_CTX_set_min_proto_version(impl_->ctx.get(),
                                              detail::to_openssl_version(version, true)) == 1,
                "SSLContext::set_minimum_version");
}

TLSVersion SSLContext::maximum_version() const {
  return detail::from_openssl_version(SSL_CTX_get_max_proto_version(impl_->ctx.get()), false);
}

void SSLContext::set_maximum_version(TLSVersion version) {
  check_openssl(SSL_CTX_set_max_proto_version(impl_->ctx.get(),
                                              detail::to_openssl_version(version, false)) == 1,
                "SSLContext::set_maximum_version");
}

void SSLContext::set_ciphers(const std::string& ciphers) {
  ERR_clear_error();
  check_openssl(SSL_CTX_set_cipher_list(impl_->ctx.get(), ciphers.c_str()) == 1,
                "SSLContext::set_ciphers('" + ciphers + "')");
}

void SSLContext::set_alpn_protocols(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255)
      throw std::invalid_argument(
          "gevent::ssl::set_alpn_protocols: a protocol name must be 1 to "
          "255 bytes long, not " +
          std::to_string(p.size()));
    wire += static_cast<char>(p.size());
    wire += p;
  }
  impl_->alpn_wire = std::move(wire);
  const auto& w = impl_->alpn_wire;
  // SSL_CTX_set_alpn_protos returns 0 on success.
  check_openssl(
      SSL_CTX_set_alpn_protos(impl_->ctx.get(), reinterpret_cast<const unsigned char*>(w.data()),
                              static_cast<unsigned int>(w.size())) == 0,
      "SSLContext::set_alpn_protocols");
  SSL_CTX_set_alpn_select_cb(impl_->ctx.get(), detail::select_alpn, impl_.get());
}

bool SSLContext::suppress_ragged_eofs() const { return impl_->suppress_ragged_eofs; }

void SSLContext::set_suppress_ragged_eofs(bool suppress) { impl_->suppress_ragged_eofs = suppress; }

void SSLContext::set_servername_callback(ServernameCallback callback) {
  impl_->servername_callback = std::move(callback);
}

SSLContext create_default_context(Purpose purpose, const std::string& cafile,
                                  const std::string& capath) {
  SSLContext context(purpose == SERVER_AUTH ? PROTOCOL_TLS_CLIENT : PROTOCOL_TLS_SERVER);
  if (!cafile.empty() || !capath.empty())
    context.load_verify_locations(cafile, capath);
  else if (context.verify_mode() != CERT_NONE)
    context.set_default_verify_paths();
  return context;
}

}  // namespace gevent::ssl
