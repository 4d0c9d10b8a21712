#include "gevent/socket_file.hpp"

#include <string>

#include "gevent/socket.hpp"
#include "io/socket_state.hpp"

namespace gevent {

SocketFile::SocketFile(socket& sock, std::size_t buffer_size)
    : BufferedStream(buffer_size), sock_(&sock) {}

SocketFile::~SocketFile() {
  if (pending_output().empty()) return;
  std::error_code ignored;
  flush(ignored);
}

std::size_t SocketFile::read_some(std::span<char> buf, std::error_code& ec) {
  return sock_->recv(buf, 0, ec);
}

// sendall's timeout bounds the whole flush; it reports what went out only when it returns.
void SocketFile::write_all(std::string_view data, std::size_t& written, std::error_code& ec) {
  sock_->sendall(data, 0, ec, &written);
}

void SocketFile::throw_error(std::error_code ec, const char* operation) const {
  detail::throw_io_error(ec, (std::string("makefile().") + operation).c_str());
}

}  // namespace gevent
