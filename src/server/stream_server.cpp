#include <cerrno>

#include "gevent/server.hpp"
#include "server/lobby.hpp"

namespace gevent::server {
namespace {

constexpr Duration kFirstBackoff = std::chrono::milliseconds(10);
constexpr Duration kMaxBackoff = std::chrono::seconds(1);

// Both run when the process may have no fd left, and UBSan's check of a virtual call's
// dynamic type needs a free fd (it probes memory through a pipe): without this attribute the
// sanitizer builds report a bogus "invalid vptr" on std::error_category in exactly that case.
#define GEVENT_RUNS_WITHOUT_FDS __attribute__((no_sanitize("vptr")))

// The connection went away between the kernel's handshake and accept(): try the next one.
GEVENT_RUNS_WITHOUT_FDS bool is_per_connection(std::error_code ec) {
  if (ec.category() != std::system_category()) return false;
  switch (ec.value()) {
    case ECONNABORTED:
    case EPROTO:
    case EPERM:  // a firewall refused this one
    case EINTR:
      return true;
    default:
      return false;
  }
}

}  // namespace

StreamServer::StreamServer(Listener listener, Handler handle, Spawn spawn, ServerOptions options)
    : BaseServer(std::move(listener), std::move(spawn), options, SOCK_STREAM),
      handle_(std::move(handle)) {
  if (!handle_) throw std::invalid_argument("gevent: StreamServer needs a handler");
  if (this->options().max_silent_connections == 0)
    throw std::invalid_argument("gevent: max_silent_connections must be at least 1");
}

StreamServer::~StreamServer() { stop_while_destroyed(); }

void StreamServer::serve_loop() {
  int in_a_row = 0;
  for (;;) {
    std::error_code ec;
    auto [connection, peer] = listener().accept(ec);
    if (ec) {
      if (!listener().is_open()) return;  // stop() closed it
      if (!is_per_connection(ec)) back_off(ec);
      continue;
    }
    backoff_ = Duration::zero();
    accepted(std::move(connection), peer);
    if (++in_a_row >= options().max_accept) {
      in_a_row = 0;
      gevent::sleep();  // let the new handlers run before accepting more
    }
  }
}

void StreamServer::accepted(gevent::socket&& connection, const address& peer) {
  if (options().ssl_context) return lobby().enter(std::move(connection), peer);
  group().spawn([this, conn = std::move(connection), peer = peer]() mutable {
    handle_connection(conn, peer);
  });
}

detail::Lobby& StreamServer::lobby() {
  if (!lobby_)
    lobby_ = std::make_unique<detail::Lobby>(
        group(), options().max_silent_connections, options().handshake_timeout,
        [this](gevent::socket& connection, const address& peer) {
          handle_connection(connection, peer);
        },
        [this](const address& peer, const char* why) {
          if (why) log_error("TLS handshake with " + peer.to_string() + " failed: " + why);
        });
  return *lobby_;
}

void StreamServer::on_stop() {
  if (lobby_) lobby_->close();
}

// Out of fds or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the pending connection stays in the
// backlog and the listener stays readable, so retrying at once would spin. Wait, doubling
// the pause up to a second, while handlers finish and free what is short.
GEVENT_RUNS_WITHOUT_FDS void StreamServer::back_off(std::error_code ec) {
  ++accept_errors_;
  backoff_ = backoff_ == Duration::zero() ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
  log_error("accept failed (" + ec.message() + "); retrying in " +
            std::to_string(backoff_.count() / 1000000) + " ms");
  gevent::sleep(backoff_);
}

void StreamServer::handle_connection(gevent::socket& connection, const address& peer) {
  run_handler(peer, [&] {
    if (!options().ssl_context) return handle_(connection, peer);
    const MaybeDuration timeout = connection.gettimeout();
    connection.settimeout(options().handshake_timeout);
    std::error_code ec;
    ssl::SSLSocket tls = ssl::wrap_server(std::move(connection), *options().ssl_context, ec);
    if (ec) {
      log_error("TLS handshake with " + peer.to_string() + " failed: " + ec.message());
      return;
    }
    tls.settimeout(timeout);
    handle_(tls, peer);
  });
}

}  // namespace gevent::server
