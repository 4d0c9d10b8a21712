// portforwarder: gevent's examples/portforwarder.py in C++. Every connection accepted on
// the listening address is joined to a new connection to the destination; two greenlets
// copy the bytes, one each way, until either side closes.
//
//   portforwarder LISTEN DESTINATION        e.g. portforwarder :8080 127.0.0.1:80
#include <gevent/gevent.hpp>
#include <gevent/resolver.hpp>
#include <gevent/server.hpp>
#include <gevent/signal.hpp>

#include <csignal>
#include <iostream>
#include <string>

namespace {

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

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::cerr << "usage: portforwarder LISTEN DESTINATION  (e.g. :8080 127.0.0.1:80)\n";
    return 2;
  }
  const gevent::address destination = resolve(argv[2]);
  gevent::server::StreamServer server{
      argv[1], [&](gevent::socket& client, const gevent::address& peer) {
        gevent::socket upstream = gevent::create_connection(destination, std::chrono::seconds(10));
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
} catch (const std::exception& e) {
  std::cerr << "portforwarder: " << e.what() << "\n";
  return 1;
}
