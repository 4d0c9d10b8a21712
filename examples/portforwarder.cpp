// portforwarder: gevent's examples/portforwarder.py in C++. Every connection accepted on
// the listening address is joined to a new connection to the destination; two greenlets
// copy the bytes, one each way, until either side closes.
//
//   portforwarder LISTEN DESTINATION        e.g. portforwarder :8080 127.0.0.1:80
#include "command_line.hpp"

#include <gevent/gevent.hpp>
#include <gevent/resolver.hpp>
#include <gevent/server.hpp>
#include <gevent/signal.hpp>

#include <csignal>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view usage = R"(usage: portforwarder LISTEN DESTINATION

Joins every connection accepted on LISTEN to a new connection to DESTINATION and copies the
bytes both ways. Ctrl-C or SIGTERM stops it.

  LISTEN         HOST:PORT to listen on, or :PORT for every interface (e.g. :8080)
  DESTINATION    HOST:PORT to connect each client to (e.g. 127.0.0.1:80)
  -h, --help     print this help and exit
)";

struct Options {
  bool help = false;
  std::string listen;
  std::string destination;
};

Options parse(int argc, char** argv) {
  Options options;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (example::help_requested(arg, options.help)) return options;
    example::reject_option(arg);
    positional.push_back(arg);
  }
  if (positional.size() != 2)
    throw example::UsageError("expected 2 arguments, LISTEN and DESTINATION; got " +
                              std::to_string(positional.size()));
  options.listen = positional[0];
  options.destination = positional[1];
  if (options.destination.find(':') == std::string::npos)
    throw example::UsageError("DESTINATION must be HOST:PORT, got '" + options.destination + "'");
  return options;
}

// Copies from `from` to `to` until end of stream, then passes the end of stream on.
void forward(gevent::socket& from, gevent::socket& to) {
  char buf[65536];
  std::error_code ec;
  while (size_t n = from.recv(buf, ec)) {
    to.sendall({buf, n}, ec);
    if (ec) break;
  }
  to.shutdown(SHUT_WR, ec);
}

// "host:port" with a name or a numeric host.
gevent::address resolve(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected host:port: " + host_port);
  const auto found = gevent::getaddrinfo(host_port.substr(0, colon), host_port.substr(colon + 1),
                                         AF_UNSPEC, SOCK_STREAM);
  return found.front().address;
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("portforwarder", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    const gevent::address destination = resolve(options.destination);
    gevent::server::StreamServer server{
        options.listen, [&](gevent::socket& client, const gevent::address& peer) {
          gevent::socket upstream =
              gevent::create_connection(destination, std::chrono::seconds(10));
          std::cout << peer.to_string() << " -> " << destination.to_string() << std::endl;
          auto back = gevent::spawn([&] { forward(upstream, client); });
          try {
            forward(client, upstream);
            back.join();
          } catch (...) {  // killed by stop(): `back` uses these sockets, so it dies first
            back.kill();
            throw;
          }
        }};
    auto stop_on_int = gevent::signal_handler(SIGINT, [&] { server.stop(); });
    auto stop_on_term = gevent::signal_handler(SIGTERM, [&] { server.stop(); });
    server.start();
    std::cout << "portforwarder: serving on " << server.server_address().to_string() << " -> "
              << destination.to_string() << std::endl;
    server.serve_forever();
    return 0;
  });
}
