// A buffered reader and writer over a gevent::socket (Python's socket.makefile('rwb')).
//
//   gevent::SocketFile f = sock.makefile();
//   std::string line = f.readline(8192);   // up to and including '\n', at most 8192 bytes
//   f.write("HTTP/1.0 200 OK\r\n\r\n");
//   f.flush();
//
// Reads return fewer bytes than asked only at end of stream ("" once it is reached). Writes
// are buffered until flush(), or until the buffer is full. The socket must outlive the file;
// the destructor flushes what it can and ignores errors (call flush() to see them).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace gevent {

class socket;

class SocketFile {
 public:
  SocketFile(socket& sock, std::size_t buffer_size = 8192);
  SocketFile(SocketFile&&) noexcept = default;
  SocketFile& operator=(SocketFile&&) = delete;
  ~SocketFile();

  // Up to n bytes; fewer only at end of stream.
  std::string read(std::size_t n);
  std::string read(std::size_t n, std::error_code& ec);
  // Everything up to end of stream.
  std::string read_all();
  std::string read_all(std::error_code& ec);
  // One line including its '\n', or at most `limit` bytes, or what is left at end of stream.
  std::string readline(std::size_t limit = SIZE_MAX);
  std::string readline(std::size_t limit, std::error_code& ec);
  // Reads into buf what is buffered, or one recv's worth; 0 at end of stream.
  std::size_t readinto(std::span<char> buf);
  std::size_t readinto(std::span<char> buf, std::error_code& ec);

  void write(std::string_view data);
  void write(std::string_view data, std::error_code& ec);
  void flush();
  void flush(std::error_code& ec);

 private:
  // Reads more into the buffer; false at end of stream or on error.
  bool fill(std::error_code& ec);
  std::string take(std::size_t n);

  socket* sock_;
  std::size_t buffer_size_;
  std::string in_;  // received, not yet returned
  std::size_t in_pos_ = 0;
  std::string out_;  // written, not yet sent
};

}  // namespace gevent
