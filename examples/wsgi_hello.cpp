// wsgi_hello: gevent's pywsgi "hello world" server in C++, with a few more routes.
//
//   wsgi_hello [--host 127.0.0.1] [--port 8000] [--threads N] [--no-access-log]
//              [--header-timeout SECONDS] [--keepalive-timeout SECONDS]
//              [--stop-timeout SECONDS] [--max-connections N]
//
//   GET  /            200 "Hello, World!"
//   POST /echo        the request body back
//   GET  /stream?n=K  K chunks "chunk i\n" from a generator body
//   GET  /sleep?ms=M  sleeps M ms (only this greenlet), then "slept"
//   GET  /error       the application throws: a 500, and the server goes on
//
// Ctrl-C or SIGTERM stops it gracefully. The access log goes to stderr, as gevent's does.
#include "command_line.hpp"

#include <gevent/gevent.hpp>
#include <gevent/pywsgi.hpp>
#include <gevent/server_threads.hpp>
#include <gevent/signal.hpp>

#include <charconv>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using gevent::pywsgi::Body;
using gevent::pywsgi::Environ;
using gevent::pywsgi::StartResponse;

// The number in `name=N` of a query string, if there is one.
std::optional<int> query_number(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.size() <= name.size() || !pair.starts_with(name) || pair[name.size()] != '=') continue;
    int value = 0;
    const auto digits = pair.substr(name.size() + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size() || value < 0) return {};
    return value;
  }
  return {};
}

Body text(StartResponse& start_response, std::string_view status, Body body) {
  start_response(status, {{"Content-Type", "text/plain"}});
  return body;
}

Body stream(StartResponse& start_response, int count) {
  start_response("200 OK", {{"Content-Type", "text/plain"}});
  return Body::generator([i = 0, count]() mutable -> std::optional<std::string> {
    if (i == count) return std::nullopt;
    return "chunk " + std::to_string(i++) + "\n";
  });
}

Body application(Environ& env, StartResponse& start_response) {
  const std::string_view path = env.path_info();
  const bool get = env.method() == "GET" || env.method() == "HEAD";
  if (path == "/" && get) return text(start_response, "200 OK", Body::view("Hello, World!"));
  if (path == "/echo" && env.method() == "POST") {
    std::string body = env.input().read();
    start_response("200 OK",
                   {{"Content-Type", env["CONTENT_TYPE"].empty() ? "application/octet-stream"
                                                                 : env["CONTENT_TYPE"]}});
    return body;
  }
  if ((path == "/stream" || path == "/sleep") && get) {
    const auto number = query_number(env.query_string(), path == "/stream" ? "n" : "ms");
    if (!number) return text(start_response, "400 Bad Request", "a number is missing\n");
    if (path == "/stream") return stream(start_response, *number);
    gevent::sleep(std::chrono::milliseconds(*number));
    return text(start_response, "200 OK", Body::view("slept"));
  }
  if (path == "/error" && get) throw std::runtime_error("GET /error asks for an application error");
  return text(start_response, "404 Not Found", Body::view("Not Found\n"));
}

constexpr std::string_view usage =
    R"(usage: wsgi_hello [--host HOST] [--port PORT] [--threads N] [--no-access-log]
                  [--header-timeout SECONDS] [--keepalive-timeout SECONDS]
                  [--stop-timeout SECONDS] [--max-connections N]

A WSGI-style HTTP server: GET / says hello; POST /echo, GET /stream?n=K, GET /sleep?ms=M
and GET /error show the rest. Ctrl-C or SIGTERM stops it.

  --host HOST                  address to listen on (default 127.0.0.1)
  --port PORT                  port to listen on, 0 for any free one (default 8000)
  --threads N                  serve with N hubs on N threads (default 1)
  --no-access-log              do not log each request to stderr
  --header-timeout SECONDS     time a client has to send a request's head (default 30)
  --keepalive-timeout SECONDS  time an idle keep-alive connection stays open (default 60)
  --stop-timeout SECONDS       on Ctrl-C or SIGTERM, time running requests get to finish
                               before they are cut off and logged (default 1)
  --max-connections N          open connections per thread; past it the longest idle one
                               is closed to make room (default 10000)
  -h, --help                   print this help and exit
)";

gevent::pywsgi::WSGIServerOptions with_max_connections(std::size_t n) {
  gevent::pywsgi::WSGIServerOptions options;
  options.max_connections = n;
  return options;
}

struct Options {
  bool help = false;
  std::string host = "127.0.0.1";
  int port = 8000;
  int threads = 1;
  gevent::pywsgi::WSGIServerOptions server = with_max_connections(10000);
};

std::size_t positive(const std::string& flag, const std::string& value) {
  const int n = example::number(flag, value);
  if (n < 1) throw example::UsageError(flag + " needs a number above 0, got '" + value + "'");
  return static_cast<std::size_t>(n);
}

std::chrono::duration<double> seconds(const std::string& flag, const std::string& value) {
  const auto s = example::parse_number<double>(value);
  if (!s || !(*s > 0))
    throw example::UsageError(flag + " needs a number of seconds above 0, got '" + value + "'");
  return std::chrono::duration<double>(*s);
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (example::help_requested(flag, options.help)) return options;
    if (example::host_or_port(flag, i, argc, argv, options.host, options.port)) continue;
    if (flag == "--no-access-log")
      options.server.log = nullptr;
    else if (flag == "--threads")
      options.threads = example::number(flag, example::value_after(i, argc, argv));
    else if (flag == "--header-timeout")
      options.server.header_timeout = seconds(flag, example::value_after(i, argc, argv));
    else if (flag == "--keepalive-timeout")
      options.server.keepalive_timeout = seconds(flag, example::value_after(i, argc, argv));
    else if (flag == "--stop-timeout")
      options.server.stop_timeout = seconds(flag, example::value_after(i, argc, argv));
    else if (flag == "--max-connections")
      options.server.max_connections = positive(flag, example::value_after(i, argc, argv));
    else
      example::reject_argument(flag);
  }
  example::check_at_least("--threads", options.threads, 1);
  options.server.reuse_port = options.threads > 1;
  options.server.backlog = 4096;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("wsgi_hello", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    const std::string listen =
        (options.host.find(':') == std::string::npos ? options.host : "[" + options.host + "]") +
        ":" + std::to_string(options.port);
    gevent::server::ServerThreads threads;
    auto stop_on_int = gevent::signal_handler(SIGINT, [&] { threads.stop_all(); });
    auto stop_on_term = gevent::signal_handler(SIGTERM, [&] { threads.stop_all(); });
    threads.run(
        options.threads,
        [&] {
          return std::make_unique<gevent::pywsgi::WSGIServer>(
              listen, application, gevent::server::Spawn{}, options.server);
        },
        [](gevent::server::BaseServer& server) {
          std::cout << "wsgi_hello: serving on http://" + server.server_address().to_string() + "\n"
                    << std::flush;
        });
    return 0;
  });
}
