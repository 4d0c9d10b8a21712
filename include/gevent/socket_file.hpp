// A buffered reader and writer over a gevent::socket (Python's socket.makefile('rwb')).
//
//   gevent::SocketFile f = sock.makefile();
//   std::string line = f.readline(8192);   // up to and including '\n', at most 8192 bytes
//   f.write("HTTP/1.0 200 OK\r\n\r\n");
//   f.flush();
//
// Reads return fewer bytes than asked only at end of stream ("" once it is reached). Writes
// are buffered until flush(), or until the buffer is full. The calls (read, read_all,
// readline, readinto, write, flush, each in both error forms) are those of
// detail::BufferedStream, which the file objects share. The socket must outlive the file;
// the destructor flushes what it can and ignores errors (call flush() to see them).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>

#include "gevent/detail/buffered_stream.hpp"

namespace gevent {

class socket;

class SocketFile : public detail::BufferedStream {
 public:
  SocketFile(socket& sock, std::size_t buffer_size = 8192);
  SocketFile(SocketFile&&) noexcept = default;
  SocketFile& operator=(SocketFile&&) = delete;
  ~SocketFile() override;

 private:
  std::size_t read_some(std::span<char> buf, std::error_code& ec) override;
  void write_all(std::string_view data, std::size_t& written, std::error_code& ec) override;
  [[noreturn]] void throw_error(std::error_code ec, const char* operation) const override;

  socket* sock_;
};

}  // namespace gevent
