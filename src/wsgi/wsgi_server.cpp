#include <iostream>

#include "gevent/pywsgi/server.hpp"
#include "wsgi/connection.hpp"
#include "wsgi/connections.hpp"
#include "wsgi/http_chars.hpp"

namespace gevent::pywsgi {

WSGIServerOptions::WSGIServerOptions() : log(&std::cerr) {}

WSGIServer::WSGIServer(server::Listener listener, Application application, server::Spawn spawn,
                       WSGIServerOptions options)
    : StreamServer(
          std::move(listener),
          [this](gevent::socket& tls, const address& peer) {
            connections().adopt(std::move(tls), peer);  // after its handshake
          },
          std::move(spawn), static_cast<const server::ServerOptions&>(options)),
      application_(std::move(application)),
      wsgi_options_(std::move(options)) {
  if (!application_) throw std::invalid_argument("gevent::pywsgi: WSGIServer needs an application");
  if (!http::detail::is_field_value(wsgi_options_.server_software))
    throw std::invalid_argument("gevent::pywsgi: server_software holds a CR, LF or control byte");
  if (wsgi_options_.max_connections == 0u)
    throw std::invalid_argument("gevent::pywsgi: max_connections must be at least 1");
}

WSGIServer::~WSGIServer() { stop_while_destroyed(); }

// A plain connection is parked at once, in the accept loop; a TLS one after its handshake,
// which runs in a greenlet of the group.
void WSGIServer::accepted(gevent::socket&& connection, const address& peer) {
  if (wsgi_options_.ssl_context) return StreamServer::accepted(std::move(connection), peer);
  try {
    connections().adopt(std::move(connection), peer);
  } catch (const std::exception& e) {
    log_error("cannot serve " + peer.to_string() + ": " + e.what());
  }
}

void WSGIServer::on_stop() {
  StreamServer::on_stop();
  if (!connections_) return;
  context_->stopping = true;
  connections_->stop();
}

detail::Connections& WSGIServer::connections() {
  if (connections_) return *connections_;
  const address& local = server_address();
  context_ = std::make_unique<detail::ServerContext>(detail::ServerContext{
      application_, wsgi_options_, local.family() == AF_UNIX ? "" : local.host(),
      local.family() == AF_UNIX ? "" : std::to_string(local.port()),
      "Server: " + wsgi_options_.server_software + "\r\n", wsgi_options_.ssl_context.has_value(),
      [this](std::string_view message) {
        context_->access_log->flush();  // the error log may be the same stream
        log_error(message);
      },
      std::make_unique<detail::AccessLog>(wsgi_options_.log)});
  connections_ =
      std::make_unique<detail::Connections>(*context_, group(), wsgi_options_.max_connections);
  return *connections_;
}

}  // namespace gevent::pywsgi
