// udp_echo: gevent's examples/udp_server.py in C++. A DatagramServer sends every datagram
// back to where it came from, one greenlet per datagram. Ctrl-C or SIGTERM stops it.
//
//   udp_echo [--host 127.0.0.1] [--port 9000]
#include "command_line.hpp"

#include <gevent/gevent.hpp>
#include <gevent/server.hpp>
#include <gevent/signal.hpp>

#include <csignal>
#include <iostream>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view usage = R"(usage: udp_echo [--host HOST] [--port PORT]

Sends every datagram back to where it came from. Ctrl-C or SIGTERM stops it.

  --host HOST    address to listen on (default 127.0.0.1)
  --port PORT    port to listen on, 0 for any free one (default 9000)
  -h, --help     print this help and exit
)";

struct Options {
  bool help = false;
  std::string host = "127.0.0.1";
  int port = 9000;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (example::help_requested(flag, options.help)) return options;
    if (example::host_or_port(flag, i, argc, argv, options.host, options.port)) continue;
    example::reject_argument(flag);
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("udp_echo", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    gevent::server::DatagramServer* self = nullptr;
    gevent::server::DatagramServer server{
        options.host + ":" + std::to_string(options.port),
        [&](std::string_view data, const gevent::address& peer) { self->sendto(data, peer); }};
    self = &server;
    auto stop_on_int = gevent::signal_handler(SIGINT, [&] { server.stop(); });
    auto stop_on_term = gevent::signal_handler(SIGTERM, [&] { server.stop(); });
    server.start();
    std::cout << "udp_echo: serving on " << server.server_address().to_string() << std::endl;
    server.serve_forever();
    return 0;
  });
}
