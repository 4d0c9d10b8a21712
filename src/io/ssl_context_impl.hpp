// What an SSLContext handle shares: the SSL_CTX and the settings OpenSSL does not keep.
// TLS sessions hold a shared_ptr to it, so OpenSSL's callbacks (which get a raw pointer to
// it) never outlive it.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <system_error>

#include "gevent/ssl.hpp"

namespace gevent::ssl::detail {

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

struct ContextImpl : std::enable_shared_from_this<ContextImpl> {
  explicit ContextImpl(Protocol protocol);

  std::unique_ptr<SSL_CTX, CtxFree> ctx;
  Protocol protocol;
  bool check_hostname = false;
  bool suppress_ragged_eofs = true;
  std::string alpn_wire;  // ALPN protocols in wire format (length-prefixed)
  SSLContext::ServernameCallback servername_callback;

  static ContextImpl& of(const SSLContext& context) { return *context.impl_; }
  static std::shared_ptr<ContextImpl> shared(const SSLContext& context) { return context.impl_; }
  SSLContext handle() { return SSLContext(shared_from_this()); }
};

// ---- errors (ssl_error.cpp) ----

// OpenSSL's error queue, emptied: all of it as text ("error:...:reason (detail); ..."), and
// as a code the first OS error in it, else the newest error.
struct QueuedErrors {
  std::error_code code;
  std::string text;
};
QueuedErrors take_error_queue();
// The error_code for the newest error in OpenSSL's queue (the queue is left as it is).
std::error_code last_queued_error();
// Throws SSLError for the failed OpenSSL configuration call `what` if `ok` is false.
void check_openssl(bool ok, const std::string& what);

}  // namespace gevent::ssl::detail
