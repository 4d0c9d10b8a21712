// The fixture of the WSGIServer tests: a server on a loopback port with its logs kept, and
// raw clients for it.
#pragma once

#include <memory>
#include <sstream>

#include "gevent/pywsgi.hpp"
#include "support/harness.hpp"
#include "wsgi/http_client.hpp"

namespace gevent::testing {

using pywsgi::Body;
using pywsgi::Environ;
using pywsgi::StartResponse;
using pywsgi::WSGIServer;

class WsgiTest : public gevent::testing::HubTest {
 protected:
  WsgiTest() {
    options_.log = &access_log_;
    options_.error_log = &error_log_;
  }
  WSGIServer& serve(gevent::pywsgi::Application app) {
    server_ = std::make_unique<WSGIServer>("127.0.0.1:0", std::move(app), gevent::server::Spawn{},
                                           options_);
    server_->start();
    return *server_;
  }
  HttpClient client() { return HttpClient(server_->server_address()); }
  void TearDown() override {
    server_.reset();
    HubTest::TearDown();
  }

  gevent::pywsgi::WSGIServerOptions options_;
  std::ostringstream access_log_;
  std::ostringstream error_log_;
  std::unique_ptr<WSGIServer> server_;
};

inline Body hello(Environ&, StartResponse& start_response) {
  start_response("200 OK", {{"Content-Type", "text/plain"}});
  return "Hello, World!";
}

inline const char* const kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

}  // namespace gevent::testing
