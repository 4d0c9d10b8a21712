// gevent.pywsgi.WSGIServer: an HTTP/1.1 server that runs a WSGI-shaped application.
//
//   gevent::pywsgi::WSGIServer server{"127.0.0.1:8000", app};
//   server.serve_forever();
//
// Greenlets serve requests, not connections. A connection waiting for its next request holds
// no greenlet, stack or buffer (a few hundred bytes: nginx's model); its next bytes hand it to
// a worker greenlet of the server's group (`spawn`: a Pool bounds the requests in progress),
// which serves it until it would wait again. In gevent a connection keeps its greenlet, so
// two things differ (docs/gevent-mapping.md): getcurrent() in the application is the worker,
// which serves the requests a connection sends in one go and then, if nothing kept or
// watched it, the next connection's; and greenlet-locals last as long as that worker, which
// ends before it serves another client if the requests made a local (or kept a handle to it).
//
// Each connection is served by gevent::pywsgi's own handler: keep-alive, pipelining (the
// answers to the requests of one read go out in one send), chunked request and response
// bodies, 100-continue, and the RFC 9112 rules in http_parser.hpp (a request that breaks one
// gets its 4xx/5xx and the connection is closed). An application that throws before its
// response started gets a 500 and the connection closes; after, the connection is dropped.
// Either way the error is logged and the server goes on.
//
// stop() (ServerOptions::stop_timeout, 1 s by default, as gevent's) lets requests in
// progress finish for that long; those still running are then killed, and each is logged on
// error_log with its request line ("... cut off unanswered").
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gevent/duration.hpp"
#include "gevent/pywsgi/application.hpp"
#include "gevent/pywsgi/http_parser.hpp"
#include "gevent/server.hpp"

namespace gevent::pywsgi {

namespace detail {
struct ServerContext;
class Connections;
}  // namespace detail

struct WSGIServerOptions : server::ServerOptions {
  // The access log, a line per request in gevent's format:
  //   127.0.0.1 - - [2026-11-24 06:40:12] "GET / HTTP/1.1" 200 13 0.000081
  // (client, local time, request line, status, body bytes or "-", seconds). nullptr: none.
  // The lines of the requests served in one turn of the hub go out in one write, at the end
  // of that turn (or when the server is destroyed). The stream must outlive the server.
  std::ostream* log;
  // How long a kept-alive connection may wait for its next request before it is closed.
  MaybeDuration keepalive_timeout = std::chrono::seconds(60);
  // How long a client has to send a whole request head, from its first byte (from the
  // connection's start for the first request): the bound on slowloris. Then a 408, closed.
  MaybeDuration header_timeout = std::chrono::seconds(30);
  // The longest wait for one read of a request body, or for a write of the response to make
  // progress (nginx's send_timeout; a file body goes out in pieces of 256 KiB, each bounded).
  MaybeDuration io_timeout = std::chrono::seconds(60);
  // An unread request body up to this size is read and dropped after the response, to keep
  // the connection; a larger one closes it.
  std::size_t max_discard = 1 << 20;
  // The largest request body accepted (nginx's client_max_body_size); none by default, as in
  // gevent: the body is streamed to the application, never buffered whole. A larger
  // Content-Length is answered 413 without running the application (and without the 100
  // Continue); a chunked body that grows past it makes wsgi.input throw InputError(413).
  std::optional<std::uint64_t> max_body_size;
  http::Limits limits;
  // Keys every request's environ starts with (gevent's `environ` argument).
  std::vector<std::pair<std::string, std::string>> environ;
  // The most connections open at once, in the middle of a request or idle between two. Past
  // it, the connection idle longest is closed to make room (a kept-alive one, else one that
  // has not sent a byte yet: the first a silent client opened); when none is idle, accepting
  // waits until a connection ends. None: no bound (gevent's behaviour).
  std::optional<std::size_t> max_connections;
  // SERVER_SOFTWARE and the Server header.
  std::string server_software = "gevent-cpp/0.1";
  WSGIServerOptions();
};

class WSGIServer : public server::StreamServer {
 public:
  WSGIServer(server::Listener listener, Application application, server::Spawn spawn = {},
             WSGIServerOptions options = {});
  ~WSGIServer() override;

  const Application& application() const { return application_; }
  const WSGIServerOptions& wsgi_options() const { return wsgi_options_; }

 protected:
  void accepted(gevent::socket&& connection, const address& peer) override;
  void on_stop() override;

 private:
  detail::Connections& connections();

  Application application_;
  WSGIServerOptions wsgi_options_;
  // Made at the first connection, once the address is known.
  std::unique_ptr<detail::ServerContext> context_;
  std::unique_ptr<detail::Connections> connections_;
};

}  // namespace gevent::pywsgi
