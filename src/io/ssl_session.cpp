#include "io/ssl_session.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "gevent/io_error.hpp"
#include "sys/libc.hpp"

namespace gevent::ssl::detail {
namespace {

// ---- the BIO over the socket's fd ----

BioTarget& target_of(BIO* bio) { return *static_cast<BioTarget*>(BIO_get_data(bio)); }

bool retryable(int err) { return gevent::detail::would_block(err) || err == EINTR; }

int bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  BioTarget& target = target_of(bio);
  BIO_clear_retry_flags(bio);
  const auto n = gevent::sys::send(target.state->fd, data, size, MSG_NOSIGNAL);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    return 1;
  }
  target.last_errno = errno;
  if (retryable(target.last_errno)) BIO_set_retry_write(bio);
  return 0;
}

int bio_read(BIO* bio, char* buf, std::size_t size, std::size_t* read) {
  BioTarget& target = target_of(bio);
  BIO_clear_retry_flags(bio);
  const auto n = gevent::sys::recv(target.state->fd, buf, size, 0);
  if (n > 0) {
    *read = static_cast<std::size_t>(n);
    return 1;
  }
  if (n == 0) {
    target.eof = true;
    return 0;
  }
  target.last_errno = errno;
  if (retryable(target.last_errno)) BIO_set_retry_read(bio);
  return 0;
}

long bio_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:  // OpenSSL asks after a read of 0: a real end of stream?
      return target_of(bio).eof ? 1 : 0;
    default:
      return 0;
  }
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "gevent socket");
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Client side: SNI (not for IP addresses, as Python) and the name the certificate must match.
void set_peer_name(SSL* ssl, const std::string& host, bool check_hostname) {
  if (host.empty()) return;
  const bool ip = is_ip_address(host);
  if (!ip) check_openssl(SSL_set_tlsext_host_name(ssl, host.c_str()) == 1, "wrap_socket (SNI)");
  if (!check_hostname) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                    : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  check_openssl(ok == 1, "wrap_socket (server_hostname '" + host + "')");
}

}  // namespace

TlsSession::TlsSession(std::shared_ptr<ContextImpl> context, SocketState& state, bool server_side,
                       std::string hostname, bool handshake_on_connect)
    : context_(std::move(context)),
      hostname_(std::move(hostname)),
      server_side_(server_side),
      handshake_on_connect_(handshake_on_connect),
      suppress_ragged_eofs_(context_->suppress_ragged_eofs) {
  bio_target_.state = &state;
  ssl_.reset(SSL_new(context_->ctx.get()));
  check_openssl(ssl_ != nullptr, "wrap_socket");
  BIO* bio = BIO_new(socket_bio_method());
  check_openssl(bio != nullptr, "wrap_socket");
  BIO_set_data(bio, &bio_target_);
  SSL_set_bio(ssl_.get(), bio, bio);  // one reference, owned by the SSL from now on
  SSL_set_app_data(ssl_.get(), this);
  if (server_side_) {
    SSL_set_accept_state(ssl_.get());
  } else {
    SSL_set_connect_state(ssl_.get());
    set_peer_name(ssl_.get(), hostname_, context_->check_hostname);
  }
}

template <class Op>
TlsSession::Outcome TlsSession::drive(SocketState& s, Deadline& deadline, std::error_code& ec,
                                      Op op) {
  error_detail_.clear();
  for (;;) {
    ERR_clear_error();
    bio_target_.last_errno = 0;
    const int ret = op();
    if (ret == 1) {
      ec.clear();
      return Outcome::done;
    }
    const int ssl_error = SSL_get_error(ssl_.get(), ret);
    // Our BIO asks to retry only after recv/send said EAGAIN: the wait is for a new edge.
    auto* watch = ssl_error == SSL_ERROR_WANT_READ    ? &s.read_watch
                  : ssl_error == SSL_ERROR_WANT_WRITE ? &s.write_watch
                                                      : nullptr;
    if (!watch) {
      ec = failure(ret, ssl_error);
      if (callback_error_) std::rethrow_exception(std::exchange(callback_error_, nullptr));
      return Outcome::failed;
    }
    if ((ec = s.wait(*watch, deadline))) return Outcome::interrupted;
  }
}

std::error_code TlsSession::failure(int, int ssl_error) {
  std::error_code ec;
  switch (ssl_error) {
    case SSL_ERROR_ZERO_RETURN:
      ec = ssl_errc::zero_return;
      break;
    case SSL_ERROR_SSL: {
      const unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)
        return verify_failure();
      ec = last_queued_error();
      break;
    }
    case SSL_ERROR_SYSCALL:
      if ((ec = last_queued_error())) break;
      if (bio_target_.last_errno)
        ec.assign(bio_target_.last_errno, std::system_category());
      else
        ec = ssl_errc::stream_truncated;
      break;
    default:  // SSL_ERROR_WANT_X509_LOOKUP and such: nothing of ours asks for them
      ec = last_queued_error();
      if (!ec) ec.assign(ssl_error, ssl_category());
  }
  // The whole queue, when it says more than the error's own message.
  if (auto queued = take_error_queue().text; queued != ec.message()) error_detail_ = queued;
  return ec;
}

std::error_code TlsSession::verify_failure() {
  const long result = SSL_get_verify_result(ssl_.get());
  if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH)
    error_detail_ = "the certificate is not valid for '" + hostname_ + "'";
  ERR_clear_error();
  return {static_cast<int>(result), verify_category()};
}

void TlsSession::handshake(SocketState& s, Deadline& deadline, std::error_code& ec) {
  drive(s, deadline, ec, [this] { return SSL_do_handshake(ssl_.get()); });
}

std::size_t TlsSession::recv(SocketState& s, std::span<char> buf, Deadline& deadline,
                             std::error_code& ec) {
  if (buf.empty()) {
    ec.clear();
    return 0;
  }
  // A suppressed ragged EOF after the handshake reads as the peer's close_notify: without
  // this, OpenSSL 3 would also fail the connection and send the peer a decode_error alert,
  // so a peer that merely shut down its sending side could no longer be answered.
  if (suppress_ragged_eofs_ && SSL_is_init_finished(ssl_.get()))
    SSL_set_options(ssl_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  std::size_t n = 0;
  const auto outcome =
      drive(s, deadline, ec, [&] { return SSL_read_ex(ssl_.get(), buf.data(), buf.size(), &n); });
  if (outcome != Outcome::failed) return n;
  // The session is still here: only a failed wait (outcome interrupted) may have ended it.
  if (ec == ssl_errc::zero_return || (ec == ssl_errc::stream_truncated && suppress_ragged_eofs_))
    ec.clear();
  return 0;
}

std::size_t TlsSession::send(SocketState& s, std::string_view data, Deadline& deadline,
                             std::error_code& ec) {
  if (data.empty()) {
    ec.clear();
    return 0;
  }
  std::size_t n = 0;
  drive(s, deadline, ec, [&] { return SSL_write_ex(ssl_.get(), data.data(), data.size(), &n); });
  return ec ? 0 : n;
}

void TlsSession::shutdown(SocketState& s, Deadline& deadline, std::error_code& ec) {
  drive(s, deadline, ec, [this] {
    // The first call sends our close_notify (0: the peer's is still to come); the next
    // ones wait for the peer's (1 when it arrived).
    const int ret = SSL_shutdown(ssl_.get());
    return ret == 0 ? SSL_shutdown(ssl_.get()) : ret;
  });
}

int TlsSession::on_servername(SSL* ssl, int* alert, void* arg) {
  auto& context = *static_cast<ContextImpl*>(arg);
  auto* session = static_cast<TlsSession*>(SSL_get_app_data(ssl));
  if (!context.servername_callback || !session) return SSL_TLSEXT_ERR_OK;
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  try {
    const SSLContext* chosen = context.servername_callback(name ? name : "");
    if (chosen && &ContextImpl::of(*chosen) != &context) {
      session->sni_context_ = ContextImpl::shared(*chosen);
      SSL_set_SSL_CTX(ssl, session->sni_context_->ctx.get());
    }
    return SSL_TLSEXT_ERR_OK;
  } catch (...) {
    session->callback_error_ = std::current_exception();
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
}

}  // namespace gevent::ssl::detail
