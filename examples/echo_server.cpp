// echo_server: gevent's examples/echoserver.py in C++. A StreamServer echoes whatever each
// client sends, one greenlet per connection. Ctrl-C or SIGTERM stops it gracefully.
//
//   echo_server [--host 127.0.0.1] [--port 6000] [--threads N]
//
// With --threads N, N hubs on N threads each serve the same port (SO_REUSEPORT) and the
// kernel spreads the connections among them.
#include "command_line.hpp"

#include <gevent/gevent.hpp>
#include <gevent/server.hpp>
#include <gevent/server_threads.hpp>
#include <gevent/signal.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

namespace {

void echo(gevent::socket& sock, const gevent::address&) {
  sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
  char buf[65536];
  std::error_code ec;  // a client that resets just ends its echo; nothing to report
  while (size_t n = sock.recv(buf, ec)) {
    sock.sendall({buf, n}, ec);
    if (ec) break;
  }
}

constexpr std::string_view usage = R"(usage: echo_server [--host HOST] [--port PORT] [--threads N]

Echoes back whatever each client sends. Ctrl-C or SIGTERM stops it.

  --host HOST    address to listen on (default 127.0.0.1)
  --port PORT    port to listen on, 0 for any free one (default 6000)
  --threads N    serve with N hubs on N threads (default 1)
  -h, --help     print this help and exit
)";

struct Options {
  bool help = false;
  std::string host = "127.0.0.1";
  int port = 6000;
  int threads = 1;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (example::help_requested(flag, options.help)) return options;
    if (example::host_or_port(flag, i, argc, argv, options.host, options.port)) continue;
    if (flag == "--threads")
      options.threads = example::number(flag, example::value_after(i, argc, argv));
    else
      example::reject_argument(flag);
  }
  example::check_at_least("--threads", options.threads, 1);
  return options;
}

// Per thread: past it, accepting waits until a connection ends (the kernel's backlog holds
// the next ones), rather than the server running out of descriptors.
constexpr std::size_t kMaxConnections = 10000;

std::unique_ptr<gevent::server::BaseServer> make_server(const Options& options) {
  gevent::server::ServerOptions server_options;
  server_options.reuse_port = options.threads > 1;
  server_options.backlog = 4096;
  return std::make_unique<gevent::server::StreamServer>(
      options.host + ":" + std::to_string(options.port), echo, kMaxConnections, server_options);
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("echo_server", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    gevent::server::ServerThreads threads;
    auto stop_on_int = gevent::signal_handler(SIGINT, [&] { threads.stop_all(); });
    auto stop_on_term = gevent::signal_handler(SIGTERM, [&] { threads.stop_all(); });
    threads.run(
        options.threads, [&] { return make_server(options); },
        [](gevent::server::BaseServer& server) {
          std::cout << "echo_server: serving on " + server.server_address().to_string() + "\n"
                    << std::flush;
        });
    return 0;
  });
}
