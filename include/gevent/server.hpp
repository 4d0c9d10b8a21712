// Servers (gevent.baseserver, gevent.server): an accept loop on the hub that serves every
// connection in its own greenlet, bounded by a Pool.
//
//   void echo(gevent::socket& sock, const gevent::address& peer) {
//     char buf[65536];
//     while (size_t n = sock.recv(buf)) sock.sendall({buf, n});
//   }
//   gevent::server::StreamServer server{":6000", echo, 10000};   // at most 10000 at once
//   server.serve_forever();
//
// The listener is an address ("host:port", ":port" for every IPv4 interface, "[::1]:port",
// a name such as "localhost:port", or a gevent::address) or a socket already listening.
// spawn is a size (the server owns a Pool of that size), a Group or Pool the caller keeps,
// or nothing (one unbounded greenlet per connection, still tracked for stop()).
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "gevent/address.hpp"
#include "gevent/duration.hpp"
#include "gevent/event.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/pool.hpp"
#include "gevent/socket.hpp"
#include "gevent/ssl.hpp"

namespace gevent::server {

namespace detail {
class Lobby;
}

// Where a server listens: an address (text or gevent::address) or a listening socket.
class Listener {
 public:
  Listener(const char* host_port) : spec_(std::string(host_port)) {}
  Listener(std::string host_port) : spec_(std::move(host_port)) {}
  Listener(std::string_view host_port) : spec_(std::string(host_port)) {}
  Listener(const address& local) : spec_(local) {}
  Listener(gevent::socket&& listening) : spec_(std::move(listening)) {}

  // The socket to serve: the given one, or a new one bound to the address with
  // SO_REUSEADDR (and SO_REUSEPORT if asked) and listening (stream) or bound (datagram).
  gevent::socket open(int socktype, int backlog, bool reuse_port);

 private:
  std::variant<std::string, address, gevent::socket> spec_;
};

// Who runs the handlers: a Group or Pool, owned or borrowed.
class Spawn {
 public:
  Spawn() : owned_(std::make_unique<Group>()), group_(owned_.get()) {}
  Spawn(std::size_t pool_size) : owned_(std::make_unique<Pool>(pool_size)), group_(owned_.get()) {}
  Spawn(int pool_size) : Spawn(checked_size(pool_size)) {}
  Spawn(Group& group) : group_(&group) {}  // a Group or Pool that outlives the server
  // A temporary Pool, as in StreamServer{":6000", echo, gevent::Pool{10000}}: the server
  // owns a Pool of that size. It must be empty (std::invalid_argument otherwise).
  Spawn(Pool&& pool);

  Group& group() const { return *group_; }

 private:
  static std::size_t checked_size(int size);
  std::unique_ptr<Group> owned_;
  Group* group_;
};

struct ServerOptions {
  int backlog = 256;        // gevent's default listen backlog
  int max_accept = 100;     // connections accepted in a row before the accept loop yields
  bool reuse_port = false;  // SO_REUSEPORT: several servers (threads) on one port
  // Handlers still running this long after stop() starts are killed (gevent's stop_timeout).
  MaybeDuration stop_timeout = std::chrono::seconds(1);
  // TLS for every connection (StreamServer): the handshake runs in the connection's
  // greenlet, bounded by handshake_timeout; a failed handshake is logged and the connection
  // closed. The handler then gets the gevent::ssl::SSLSocket as its gevent::socket&.
  std::optional<ssl::SSLContext> ssl_context;
  MaybeDuration handshake_timeout = std::chrono::seconds(10);
  // A TLS connection gets its greenlet (and its slot of the Pool) once it has sent a byte:
  // until then it waits without one, so silent connections cannot fill the Pool and lock
  // real clients out. At most this many wait (the oldest is closed to make room), each at
  // most handshake_timeout (then the handshake has handshake_timeout again).
  std::size_t max_silent_connections = 1024;
  // Where errors of the server and its handlers are reported; nullptr: nowhere.
  std::ostream* error_log;
  ServerOptions();
};

class BaseServer {
 public:
  virtual ~BaseServer();
  BaseServer(const BaseServer&) = delete;
  BaseServer& operator=(const BaseServer&) = delete;

  // Opens the listener (binding it if given an address) and starts serving in a greenlet of
  // this thread's hub. Bind errors throw std::system_error. Starting twice: std::logic_error.
  void start();
  // start() if needed, then blocks the calling greenlet until stop().
  void serve_forever();
  // Stops accepting, lets running handlers finish for up to `timeout` (default:
  // options().stop_timeout), then kills the rest. Idempotent. Callable from a handler.
  // Greenlets a handler spawned itself are not in the server's group: a handler that is
  // killed must kill those that use its locals (examples/portforwarder.cpp).
  void stop(MaybeDuration timeout);
  void stop() { stop(options_.stop_timeout); }

  bool started() const { return started_; }
  // The bound address (with the real port when asked for port 0); empty before start().
  const address& server_address() const { return address_; }
  gevent::socket& listener() { return listener_; }
  Group& group() const { return spawn_.group(); }
  const ServerOptions& options() const { return options_; }

 protected:
  BaseServer(Listener listener, Spawn spawn, ServerOptions options, int socktype);
  // Runs in the server's greenlet until the listener is closed.
  virtual void serve_loop() = 0;
  // Called by stop() once the listener is closed, before the handlers are waited for.
  virtual void on_stop() {}
  void log_error(std::string_view message) const;
  // Runs a handler for `peer`; what it throws (a std::exception) is logged, and serving goes
  // on. A kill (GreenletExit) passes through.
  template <class F>
  void run_handler(const address& peer, F&& handler) const {
    try {
      handler();
    } catch (const std::exception& e) {
      log_handler_failure(peer, e);
    }
  }
  // For the derived servers' destructors (their handlers use their members): stop(0), and
  // nothing thrown (destroyed from the hub or while unwinding, the greenlets die with the hub).
  void stop_while_destroyed() noexcept;

 private:
  void log_handler_failure(const address& peer, const std::exception& e) const;

  Listener spec_;
  Spawn spawn_;
  ServerOptions options_;
  int socktype_;
  gevent::socket listener_;
  address address_;
  Greenlet<void> loop_;
  Event stopped_;
  bool started_ = false;
};

class StreamServer : public BaseServer {
 public:
  using Handler = std::function<void(gevent::socket& connection, const address& peer)>;

  StreamServer(Listener listener, Handler handle, Spawn spawn = {}, ServerOptions options = {});
  ~StreamServer() override;

  // Accept errors such as EMFILE seen so far (each one backs off, then accepting resumes).
  std::size_t accept_errors() const { return accept_errors_; }

 protected:
  void serve_loop() override;
  // What the accept loop does with each connection: spawns the handler (after the TLS
  // handshake, if any) in the server's group, which may wait for a free slot.
  virtual void accepted(gevent::socket&& connection, const address& peer);
  void on_stop() override;

 private:
  void handle_connection(gevent::socket& connection, const address& peer);
  void back_off(std::error_code ec);
  detail::Lobby& lobby();

  Handler handle_;
  std::unique_ptr<detail::Lobby> lobby_;  // TLS connections before their first byte
  std::size_t accept_errors_ = 0;
  Duration backoff_ = Duration::zero();
};

class DatagramServer : public BaseServer {
 public:
  // Runs for every datagram, in its own greenlet; `data` is valid until it returns.
  using Handler = std::function<void(std::string_view data, const address& peer)>;

  DatagramServer(Listener listener, Handler handle, Spawn spawn = {}, ServerOptions options = {});
  ~DatagramServer() override;

  // Sends a datagram from the server's socket (gevent's DatagramServer.sendto).
  std::size_t sendto(std::string_view data, const address& peer);

 protected:
  void serve_loop() override;

 private:
  Handler handle_;
};

}  // namespace gevent::server
