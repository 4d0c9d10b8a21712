// The TLS error categories and the conversion of OpenSSL's error queue into them.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <string>

#include "gevent/ssl.hpp"
#include "io/ssl_context_impl.hpp"

namespace gevent::ssl {
namespace {

static_assert(int(verify_errc::cert_not_yet_valid) == X509_V_ERR_CERT_NOT_YET_VALID);
static_assert(int(verify_errc::cert_has_expired) == X509_V_ERR_CERT_HAS_EXPIRED);
static_assert(int(verify_errc::depth_zero_self_signed_cert) ==
              X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
static_assert(int(verify_errc::self_signed_cert_in_chain) == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
static_assert(int(verify_errc::unable_to_get_issuer_cert_locally) ==
              X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
static_assert(int(verify_errc::hostname_mismatch) == X509_V_ERR_HOSTNAME_MISMATCH);
static_assert(int(verify_errc::ip_address_mismatch) == X509_V_ERR_IP_ADDRESS_MISMATCH);

class StreamCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gevent.ssl.stream"; }
  std::string message(int value) const override {
    switch (static_cast<ssl_errc>(value)) {
      case ssl_errc::stream_truncated:
        return "EOF occurred in violation of protocol (the peer closed without close_notify)";
      case ssl_errc::zero_return:
        return "TLS/SSL connection has been closed (EOF)";
      case ssl_errc::not_wrapped:
        return "the socket has no TLS session";
    }
    return "unknown gevent.ssl.stream error " + std::to_string(value);
  }
};

class OpenSslCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gevent.ssl"; }
  std::string message(int value) const override {
    char text[256];
    ERR_error_string_n(static_cast<unsigned int>(value), text, sizeof(text));
    return text;
  }
};

class VerifyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gevent.ssl.verify"; }
  std::string message(int value) const override {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(value);
  }
};

}  // namespace

const std::error_category& stream_category() noexcept {
  static const StreamCategory category;
  return category;
}

const std::error_category& ssl_category() noexcept {
  static const OpenSslCategory category;
  return category;
}

const std::error_category& verify_category() noexcept {
  static const VerifyCategory category;
  return category;
}

namespace detail {
namespace {

std::error_code code_of(unsigned long e) {
  if (ERR_SYSTEM_ERROR(e)) return {ERR_GET_REASON(e), std::system_category()};
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
    return ssl_errc::stream_truncated;
  return {static_cast<int>(e), ssl_category()};
}

}  // namespace

QueuedErrors take_error_queue() {
  QueuedErrors result;
  const char* data = nullptr;
  int flags = 0;
  bool os_error = false;
  while (const unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    // An OS error (a file that cannot be opened) says more than the SSL-level one after it.
    if (!os_error) result.code = code_of(e);
    os_error = os_error || ERR_SYSTEM_ERROR(e);
    char reason[256];
    ERR_error_string_n(e, reason, sizeof(reason));
    if (!result.text.empty()) result.text += "; ";
    result.text += reason;
    if (data && *data && (flags & ERR_TXT_STRING)) result.text += std::string(" (") + data + ")";
  }
  return result;
}

std::error_code last_queued_error() {
  const unsigned long last = ERR_peek_last_error();
  return last ? code_of(last) : std::error_code();
}

void check_openssl(bool ok, const std::string& what) {
  if (ok) return;
  auto queued = take_error_queue();
  if (!queued.code) queued.code = std::make_error_code(std::errc::invalid_argument);
  std::string full = "gevent::ssl::" + what;
  if (!queued.text.empty() && queued.text != queued.code.message())
    full += " [" + queued.text + "]";  // the whole queue, when it says more than the code
  throw SSLError(queued.code, full);
}

}  // namespace detail
}  // namespace gevent::ssl
