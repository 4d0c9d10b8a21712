// The buffering that SocketFile and the file objects share: a read buffer and a write buffer
// over a raw byte stream that each subclass provides, and both error forms of every call.
//
// Reads return fewer bytes than asked only at end of stream ("" once it is reached), or on
// an error (the error_code form returns what it had read by then). Writes are buffered until
// flush(), or until the buffer is full. One greenlet may read while another writes; a second
// reader (or writer) at the same time throws gevent::ConcurrentObjectUseError before it
// touches the buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace gevent::detail {

class BufferedStream {
 public:
  virtual ~BufferedStream() = default;
  BufferedStream(const BufferedStream&) = delete;
  BufferedStream& operator=(const BufferedStream&) = delete;

  // Up to n bytes; fewer only at end of stream.
  std::string read(std::size_t n);
  std::string read(std::size_t n, std::error_code& ec);
  // Everything up to end of stream.
  std::string read_all();
  std::string read_all(std::error_code& ec);
  // One line including its '\n', or at most `limit` bytes, or what is left at end of stream.
  std::string readline(std::size_t limit = SIZE_MAX);
  std::string readline(std::size_t limit, std::error_code& ec);
  // Reads into buf what is buffered, or one raw read's worth; 0 at end of stream.
  std::size_t readinto(std::span<char> buf);
  std::size_t readinto(std::span<char> buf, std::error_code& ec);

  void write(std::string_view data);
  void write(std::string_view data, std::error_code& ec);
  void flush();
  void flush(std::error_code& ec);

 protected:
  explicit BufferedStream(std::size_t buffer_size);
  BufferedStream(BufferedStream&&) noexcept = default;

  // Written but not flushed yet.
  std::string_view pending_output() const { return out_; }

 private:
  // Reads at most buf.size() bytes into buf. Returns the count: 0 at end of stream, or on
  // an error, with ec set.
  virtual std::size_t read_some(std::span<char> buf, std::error_code& ec) = 0;
  // Writes all of data, or stops at an error (ec set). Counts in `written` what went out,
  // as it goes where it can, so that a kill or Timeout thrown meanwhile does not make the
  // next flush send it again.
  virtual void write_all(std::string_view data, std::size_t& written, std::error_code& ec) = 0;
  // Throws ec as this stream's failure of `operation` ("read", "flush", ...).
  [[noreturn]] virtual void throw_error(std::error_code ec, const char* operation) const = 0;

  class Turn;
  auto raise_as(const char* operation) const;
  bool fill(std::error_code& ec);
  std::string take(std::size_t n);
  void flush_locked(std::error_code& ec);

  std::size_t buffer_size_;
  std::string in_;  // read, not yet returned
  std::size_t in_pos_ = 0;
  std::string out_;  // written, not yet flushed
  bool reading_ = false;
  bool writing_ = false;
};

}  // namespace gevent::detail
