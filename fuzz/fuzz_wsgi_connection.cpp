// libFuzzer target: a whole WSGIServer connection, past the parser. Each input is what one
// client sends on one loopback connection (then it shuts down its side); the server on the
// fuzzer's own hub runs it through keep-alive, pipelining, bodies read in several ways,
// 100-continue and error answers. A crash, a sanitizer report, a hang (the server not
// closing within seconds of the client's end) or a reply that is not HTTP is a finding.
#include <sys/socket.h>
#include <gevent/gevent.hpp>
#include <gevent/pywsgi.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using gevent::pywsgi::Body;
using gevent::pywsgi::Environ;
using gevent::pywsgi::StartResponse;

// How the application reads the body, chosen by the path's first letter after "/".
std::string read_body(Environ& env) {
  gevent::pywsgi::Input& input = env.input();
  switch (env.path_info().size() > 1 ? env.path_info()[1] : '-') {
    case 'l': {
      std::string all;
      for (std::string line = input.readline(7); !line.empty(); line = input.readline(7))
        all += line;
      return all;
    }
    case 'r':
      return input.read(5) + input.read();
    case 'n':
      return {};  // not read: the server discards it
    default:
      return input.read();
  }
}

// How the application answers, chosen by the path's second letter.
Body respond(Environ& env, StartResponse& start_response, std::string body) {
  const char kind = env.path_info().size() > 2 ? env.path_info()[2] : '-';
  if (kind == 'x') throw std::runtime_error("the application fails before start_response");
  gevent::pywsgi::Write& write = start_response("200 OK", {{"X-Kind", std::string(1, kind)}});
  switch (kind) {
    case 'c':
      return std::vector<std::string>{body, "", body};
    case 'g':
      return Body::generator([body, left = 2]() mutable -> std::optional<std::string> {
        if (left-- == 0) return std::nullopt;
        return body;
      });
    case 'w':
      write(body);
      return {};
    case 'e':
      write(body);
      throw std::runtime_error("the application fails after the headers");
    default:
      return body;
  }
}

Body application(Environ& env, StartResponse& start_response) {
  return respond(env, start_response, read_body(env));
}

gevent::pywsgi::WSGIServer& server() {
  static gevent::pywsgi::WSGIServer* instance = [] {
    gevent::pywsgi::WSGIServerOptions options;
    options.log = nullptr;
    options.error_log = nullptr;
    options.header_timeout = std::chrono::seconds(2);
    options.keepalive_timeout = std::chrono::seconds(2);
    options.io_timeout = std::chrono::seconds(2);
    options.max_body_size = 1 << 16;
    auto* s = new gevent::pywsgi::WSGIServer("127.0.0.1:0", application, {}, options);
    s->start();
    return s;
  }();
  return *instance;
}

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_wsgi_connection: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gevent::socket client = gevent::create_connection(server().server_address());
  client.settimeout(std::chrono::seconds(5));  // more than any of the server's time limits
  std::error_code ec;
  client.sendall({reinterpret_cast<const char*>(data), size}, ec);  // the server may close first
  client.shutdown(SHUT_WR, ec);
  std::string reply;
  char buf[16384];
  while (const std::size_t n = client.recv(buf, ec)) reply.append(buf, n);
  if (ec == std::errc::timed_out) finding("the server kept the connection past the client's end");
  if (!reply.empty() && !reply.starts_with("HTTP/1.")) finding("a reply that is not HTTP");
  return 0;
}
