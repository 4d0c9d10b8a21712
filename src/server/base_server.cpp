#include <netdb.h>

#include <iostream>
#include <stdexcept>

#include "gevent/resolver.hpp"
#include "gevent/server.hpp"

namespace gevent::server {
namespace {

// "host:port" with a numeric host parses directly; a name ("localhost:8000") is resolved.
address resolve_listen_address(const std::string& host_port, int socktype) {
  try {
    return address::parse(host_port);
  } catch (const std::invalid_argument&) {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos || colon == 0) throw;
    const auto found = getaddrinfo(host_port.substr(0, colon), host_port.substr(colon + 1),
                                   AF_UNSPEC, socktype, 0, AI_PASSIVE);
    if (found.empty()) throw;
    return found.front().address;
  }
}

gevent::socket bound_socket(const address& local, int socktype, int backlog, bool reuse_port) {
  if (socktype == SOCK_STREAM) return listen_tcp(local, backlog, reuse_port);
  gevent::socket s(local.family(), socktype);
  s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  if (reuse_port) s.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  s.bind(local);
  return s;
}

}  // namespace

gevent::socket Listener::open(int socktype, int backlog, bool reuse_port) {
  if (auto* given = std::get_if<gevent::socket>(&spec_)) {
    if (!given->is_open()) throw std::logic_error("gevent: the server's listener socket is closed");
    return std::move(*given);
  }
  const address local = std::holds_alternative<address>(spec_)
                            ? std::get<address>(spec_)
                            : resolve_listen_address(std::get<std::string>(spec_), socktype);
  return bound_socket(local, socktype, backlog, reuse_port);
}

std::size_t Spawn::checked_size(int size) {
  if (size <= 0) throw std::invalid_argument("gevent: a server's pool size must be positive");
  return static_cast<std::size_t>(size);
}

Spawn::Spawn(Pool&& pool) {
  if (!pool.empty())
    throw std::invalid_argument(
        "gevent: a Pool with greenlets in it must be passed by reference to a server");
  owned_ = std::make_unique<Pool>(pool.pool_size());
  group_ = owned_.get();
}

ServerOptions::ServerOptions() : error_log(&std::cerr) {}

BaseServer::BaseServer(Listener listener, Spawn spawn, ServerOptions options, int socktype)
    : spec_(std::move(listener)), spawn_(std::move(spawn)), options_(options), socktype_(socktype) {
  if (options_.max_accept < 1) throw std::invalid_argument("gevent: max_accept must be >= 1");
}

BaseServer::~BaseServer() = default;

void BaseServer::start() {
  if (started_) throw std::logic_error("gevent: the server is already started");
  if (stopped_.is_set()) throw std::logic_error("gevent: a stopped server cannot start again");
  listener_ = spec_.open(socktype_, options_.backlog, options_.reuse_port);
  listener_.settimeout({});
  address_ = listener_.getsockname();
  started_ = true;
  loop_ = gevent::spawn([this] {
    try {
      serve_loop();
    } catch (const std::exception& e) {
      log_error(std::string("server loop failed: ") + e.what());
      stopped_.set();
    }
  });
}

void BaseServer::serve_forever() {
  if (!started_) start();
  try {
    stopped_.wait();
  } catch (...) {
    stop();  // killed while serving (gevent does the same)
    throw;
  }
}

void BaseServer::stop(MaybeDuration timeout) {
  if (!started_) return;
  started_ = false;
  listener_.close();  // wakes the accept loop, which returns
  if (loop_ && !loop_.dead() && loop_ != getcurrent()) loop_.kill();
  on_stop();
  Group& handlers = group();
  handlers.discard(getcurrent());  // stop() from a handler must not wait for itself
  if (!handlers.join(timeout)) handlers.kill();
  stopped_.set();
}

void BaseServer::stop_while_destroyed() noexcept {
  try {
    stop(Duration::zero());
  } catch (...) {
  }
}

void BaseServer::log_handler_failure(const address& peer, const std::exception& e) const {
  log_error("handler for " + peer.to_string() + " failed: " + e.what());
}

void BaseServer::log_error(std::string_view message) const {
  if (options_.error_log)
    *options_.error_log << "gevent server " << address_.to_string() << ": " << message << std::endl;
}

}  // namespace gevent::server
