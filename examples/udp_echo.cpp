// udp_echo: gevent's examples/udp_server.py in C++. A DatagramServer sends every datagram
// back to where it came from, one greenlet per datagram. Ctrl-C or SIGTERM stops it.
//
//   udp_echo [--host 127.0.0.1] [--port 9000]
#include <gevent/gevent.hpp>
#include <gevent/server.hpp>
#include <gevent/signal.hpp>

#include <csignal>
#include <iostream>
#include <string>

int main(int argc, char** argv) try {
  std::string host = "127.0.0.1";
  std::string port = "9000";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--host")
      host = argv[i + 1];
    else if (flag == "--port")
      port = argv[i + 1];
    else
      throw std::invalid_argument("unknown option " + flag);
  }
  if (argc % 2 == 0) throw std::invalid_argument("usage: udp_echo [--host H] [--port P]");

  gevent::server::DatagramServer* self = nullptr;
  gevent::server::DatagramServer server{
      host + ":" + port,
      [&](std::string_view data, const gevent::address& peer) { self->sendto(data, peer); }};
  self = &server;
  auto stop_on_int = gevent::signal_handler(SIGINT, [&] { server.stop(); });
  auto stop_on_term = gevent::signal_handler(SIGTERM, [&] { server.stop(); });
  server.start();
  std::cout << "udp_echo: serving on " << server.server_address().to_string() << std::endl;
  server.serve_forever();
  return 0;
} catch (const std::exception& e) {
  std::cerr << "udp_echo: " << e.what() << "\n";
  return 1;
}
