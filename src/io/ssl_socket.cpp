// SSLSocket and wrapping: a gevent::socket whose state carries a TlsSession.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <stdexcept>

#include "gevent/ssl.hpp"
#include "io/socket_state.hpp"
#include "io/ssl_session.hpp"
#include "sys/libc.hpp"

namespace gevent::ssl {

static_assert(sizeof(SSLSocket) == sizeof(gevent::socket),
              "SSLSocket keeps its state in the base: it must be usable as a gevent::socket");

using detail::TlsSession;

namespace {

TlsSession* session_of(const gevent::socket& s) {
  if (s.fileno() < 0) return nullptr;
  return dynamic_cast<TlsSession*>(gevent::detail::SocketAccess::of(s).tls.get());
}

std::error_code no_session(const gevent::socket& s) {
  if (s.fileno() < 0) return std::make_error_code(std::errc::bad_file_descriptor);
  return ssl_errc::not_wrapped;
}

bool is_connected(int fd) {
  sockaddr_storage peer;
  socklen_t len = sizeof(peer);
  return sys::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0;
}

// SSLError (SSLCertVerificationError for a failed verification) with the session's words
// about the error, if it is still there.
[[noreturn]] void throw_tls(std::error_code ec, const gevent::socket& s, const char* what) {
  std::string message = std::string("gevent::ssl::SSLSocket::") + what;
  if (const auto* session = session_of(s); session && !session->error_detail().empty())
    message += ": " + session->error_detail();
  if (&ec.category() == &verify_category()) throw SSLCertVerificationError(ec, message);
  throw SSLError(ec, message);
}

}  // namespace

// ---- wrapping ----

SSLSocket SSLContext::wrap_socket(gevent::socket&& sock, bool server_side,
                                  std::string server_hostname, bool do_handshake_on_connect) const {
  const bool client_context = impl_->protocol == PROTOCOL_TLS_CLIENT;
  if (server_side == client_context)
    throw std::invalid_argument(server_side ? "gevent::ssl::wrap_socket: a server socket needs a "
                                              "PROTOCOL_TLS_SERVER context"
                                            : "gevent::ssl::wrap_socket: a client socket needs a "
                                              "PROTOCOL_TLS_CLIENT context");
  if (server_side && !server_hostname.empty())
    throw std::invalid_argument(
        "gevent::ssl::wrap_socket: server_hostname can only be specified in client mode");
  if (!server_side && impl_->check_hostname && server_hostname.empty())
    throw std::invalid_argument(
        "gevent::ssl::wrap_socket: check_hostname requires server_hostname");
  if (sock.fileno() < 0)
    throw SSLError(std::make_error_code(std::errc::bad_file_descriptor),
                   "gevent::ssl::wrap_socket");
  if (sock.type() != SOCK_STREAM)
    throw std::invalid_argument("gevent::ssl::wrap_socket: only stream sockets can carry TLS");
  if (gevent::detail::SocketAccess::of(sock).tls)
    throw std::invalid_argument("gevent::ssl::wrap_socket: the socket is wrapped already");

  // TLS writes several records back to back (handshake flights, session tickets, a
  // response's last partial record); with Nagle's algorithm each small one after the first
  // waits for the peer's delayed ACK (40 ms). nginx sets TCP_NODELAY on TLS connections too.
  if (sock.family() == AF_INET || sock.family() == AF_INET6) {
    const int on = 1;
    sys::setsockopt(sock.fileno(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  }
  SSLSocket tls(std::move(sock));
  gevent::detail::SocketAccess::of(tls).tls =
      std::make_unique<TlsSession>(impl_, gevent::detail::SocketAccess::of(tls), server_side,
                                   std::move(server_hostname), do_handshake_on_connect);
  if (do_handshake_on_connect && is_connected(tls.fileno())) tls.do_handshake();
  return tls;
}

SSLSocket wrap_server(gevent::socket&& accepted, const SSLContext& context, std::error_code& ec) {
  if (accepted.fileno() < 0) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return {};
  }
  SSLSocket tls = context.wrap_socket(std::move(accepted), true, "", false);
  tls.do_handshake(ec);
  if (ec) tls.close();
  return tls;
}

// ---- SSLSocket ----

void SSLSocket::connect(const address& peer, std::error_code& ec) {
  gevent::socket::connect(peer, ec);
  if (ec) return;
  if (const auto* session = session_of(*this); session && session->handshake_on_connect())
    do_handshake(ec);
}

void SSLSocket::connect(const address& peer) {
  std::error_code ec;
  connect(peer, ec);
  if (ec) throw_tls(ec, *this, "connect");
}

void SSLSocket::do_handshake(std::error_code& ec) {
  auto* session = session_of(*this);
  if (!session) {
    ec = no_session(*this);
    return;
  }
  gevent::detail::Deadline deadline(
      gevent::detail::SocketAccess::of(*this).timeout);  // for the whole handshake
  session->handshake(gevent::detail::SocketAccess::of(*this), deadline, ec);
}

void SSLSocket::do_handshake() {
  std::error_code ec;
  do_handshake(ec);
  if (ec) throw_tls(ec, *this, "do_handshake");
}

gevent::socket SSLSocket::unwrap(std::error_code& ec) {
  auto* session = session_of(*this);
  if (!session) {
    ec = no_session(*this);
    return {};
  }
  gevent::detail::Deadline deadline(gevent::detail::SocketAccess::of(*this).timeout);
  session->shutdown(gevent::detail::SocketAccess::of(*this), deadline, ec);
  if (ec) return {};
  gevent::detail::SocketAccess::of(*this).tls.reset();
  return gevent::socket(std::move(static_cast<gevent::socket&>(*this)));
}

gevent::socket SSLSocket::unwrap() {
  std::error_code ec;
  auto plain = unwrap(ec);
  if (ec) throw_tls(ec, *this, "unwrap");
  return plain;
}

std::optional<std::string> SSLSocket::version() const {
  const auto* session = session_of(*this);
  if (!session || !SSL_is_init_finished(session->ssl())) return std::nullopt;
  return SSL_get_version(session->ssl());
}

std::optional<Cipher> SSLSocket::cipher() const {
  const auto* session = session_of(*this);
  const SSL_CIPHER* c = session ? SSL_get_current_cipher(session->ssl()) : nullptr;
  if (!c) return std::nullopt;
  return Cipher{SSL_CIPHER_get_name(c), SSL_CIPHER_get_version(c), SSL_CIPHER_get_bits(c, nullptr)};
}

std::optional<std::string> SSLSocket::selected_alpn_protocol() const {
  const auto* session = session_of(*this);
  if (!session) return std::nullopt;
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(session->ssl(), &data, &len);
  if (len == 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::optional<PeerCertificate> SSLSocket::getpeercert() const {
  const auto* session = session_of(*this);
  if (!session || !SSL_is_init_finished(session->ssl())) return std::nullopt;
  return detail::peer_certificate(session->ssl());
}

std::string SSLSocket::server_hostname() const {
  const auto* session = session_of(*this);
  if (!session) return {};
  if (!session->server_side()) return session->hostname();
  const char* name = SSL_get_servername(session->ssl(), TLSEXT_NAMETYPE_host_name);
  return name ? name : "";
}

bool SSLSocket::server_side() const {
  const auto* session = session_of(*this);
  return session && session->server_side();
}

bool SSLSocket::handshake_done() const {
  const auto* session = session_of(*this);
  return session && SSL_is_init_finished(session->ssl());
}

std::size_t SSLSocket::pending() const {
  const auto* session = session_of(*this);
  return session ? static_cast<std::size_t>(SSL_pending(session->ssl())) : 0;
}

std::optional<SSLContext> SSLSocket::context() const {
  const auto* session = session_of(*this);
  if (!session) return std::nullopt;
  return session->context().handle();
}

ssl_st* SSLSocket::native_handle() const {
  const auto* session = session_of(*this);
  return session ? session->ssl() : nullptr;
}

}  // namespace gevent::ssl
