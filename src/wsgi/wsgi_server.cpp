#include <iostream>

#include "gevent/pywsgi/server.hpp"
#include "wsgi/connection.hpp"
#include "wsgi/http_chars.hpp"

namespace gevent::pywsgi {

WSGIServerOptions::WSGIServerOptions() : log(&std::cerr) {}

WSGIServer::WSGIServer(server::Listener listener, Application application, server::Spawn spawn,
                       WSGIServerOptions options)
    : StreamServer(
          std::move(listener), [this](gevent::socket& c, const address& peer) { handle(c, peer); },
          std::move(spawn), static_cast<const server::ServerOptions&>(options)),
      application_(std::move(application)),
      wsgi_options_(std::move(options)) {
  if (!application_) throw std::invalid_argument("gevent::pywsgi: WSGIServer needs an application");
  if (!http::detail::is_field_value(wsgi_options_.server_software))
    throw std::invalid_argument("gevent::pywsgi: server_software holds a CR, LF or control byte");
}

WSGIServer::~WSGIServer() { stop_while_destroyed(); }

void WSGIServer::handle(gevent::socket& connection, const address& peer) {
  if (!context_) {
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
  }
  detail::Connection(connection, peer, *context_).serve();
}

}  // namespace gevent::pywsgi
