#include "gevent/server.hpp"

namespace gevent::server {

DatagramServer::DatagramServer(Listener listener, Handler handle, Spawn spawn,
                               ServerOptions options)
    : BaseServer(std::move(listener), std::move(spawn), options, SOCK_DGRAM),
      handle_(std::move(handle)) {
  if (!handle_) throw std::invalid_argument("gevent: DatagramServer needs a handler");
}

DatagramServer::~DatagramServer() { stop_while_destroyed(); }

void DatagramServer::serve_loop() {
  std::string buf(65536, '\0');
  for (;;) {
    std::error_code ec;
    auto [n, peer] = listener().recvfrom(buf, 0, ec);
    if (ec) {
      if (!listener().is_open()) return;
      log_error("recvfrom failed: " + ec.message());
      continue;
    }
    group().spawn([this, data = buf.substr(0, n), peer = peer] {
      run_handler(peer, [&] { handle_(data, peer); });
    });
  }
}

std::size_t DatagramServer::sendto(std::string_view data, const address& peer) {
  return listener().sendto(data, peer);
}

}  // namespace gevent::server
