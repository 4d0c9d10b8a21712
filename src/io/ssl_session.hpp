// One TLS connection: the TlsLayer a wrapped socket's recv/send go through.
//
// OpenSSL runs non-blocking over the socket's O_NONBLOCK fd through a small BIO of our own
// (not SSL_set_fd): it calls sys::recv/send like the rest of the library (so the
// monkey layer's hooks are never re-entered) and sends with MSG_NOSIGNAL (a peer that reset
// the connection is an EPIPE error, not a SIGPIPE). When OpenSSL wants to read or write, the
// greenlet waits on the socket's read_watch/write_watch, within the call's Deadline.
//
// Lifetime: socket::close() (or detach) cancels those waits and then destroys this session.
// A greenlet woken that way returns at once with the error, without touching the session.
#pragma once

#include <openssl/ssl.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "io/socket_state.hpp"
#include "io/ssl_context_impl.hpp"

namespace gevent::ssl::detail {

using gevent::detail::Deadline;
using gevent::detail::SocketState;

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// What the BIO reads and writes through.
struct BioTarget {
  SocketState* state = nullptr;
  int last_errno = 0;  // of the last failed recv/send
  bool eof = false;    // the last recv saw end of stream
};

class TlsSession final : public gevent::detail::TlsLayer {
 public:
  TlsSession(std::shared_ptr<ContextImpl> context, SocketState& state, bool server_side,
             std::string hostname, bool handshake_on_connect);

  std::size_t recv(SocketState& s, std::span<char> buf, Deadline& deadline,
                   std::error_code& ec) override;
  std::size_t send(SocketState& s, std::string_view data, Deadline& deadline,
                   std::error_code& ec) override;
  void handshake(SocketState& s, Deadline& deadline, std::error_code& ec);
  // Sends close_notify and waits for the peer's.
  void shutdown(SocketState& s, Deadline& deadline, std::error_code& ec);

  SSL* ssl() const { return ssl_.get(); }
  bool server_side() const { return server_side_; }
  bool handshake_on_connect() const { return handshake_on_connect_; }
  const std::string& hostname() const { return hostname_; }
  // The context in use (switched by a servername callback, or the one wrapped with).
  ContextImpl& context() const { return sni_context_ ? *sni_context_ : *context_; }
  // Words about the last TLS error, for exception messages ("" if none).
  const std::string& error_detail() const { return error_detail_; }

  // SSL_CTX_set_tlsext_servername_callback's callback; arg is the ContextImpl.
  static int on_servername(SSL* ssl, int* alert, void* arg);

 private:
  enum class Outcome { done, failed, interrupted };
  // Runs op (an OpenSSL call returning 1 on success) until it succeeds, fails, or a wait
  // for the socket fails. After `interrupted` this session may have been destroyed.
  template <class Op>
  Outcome drive(SocketState& s, Deadline& deadline, std::error_code& ec, Op op);
  std::error_code failure(int ret, int ssl_error);
  std::error_code verify_failure();

  std::shared_ptr<ContextImpl> context_;
  std::shared_ptr<ContextImpl> sni_context_;
  BioTarget bio_target_;
  std::unique_ptr<SSL, SslFree> ssl_;  // after what its callbacks and BIO use
  std::string hostname_;
  bool server_side_;
  bool handshake_on_connect_;
  bool suppress_ragged_eofs_;
  std::string error_detail_;
  std::exception_ptr callback_error_;  // thrown by a servername callback
};

// The peer's certificate in Python's shape (ssl_cert.cpp).
std::optional<PeerCertificate> peer_certificate(SSL* ssl);

}  // namespace gevent::ssl::detail
