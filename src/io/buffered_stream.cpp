#include "gevent/detail/buffered_stream.hpp"

#include <algorithm>
#include <string>

#include "gevent/detail/or_throw.hpp"
#include "gevent/exceptions.hpp"

namespace gevent::detail {

// One greenlet's turn at reading (or writing): a second one at the same time is an error,
// raised before it touches the buffers, which the first may hold a view into while it waits.
class BufferedStream::Turn {
 public:
  Turn(bool& busy, const char* direction) : busy_(busy) {
    if (busy_)
      throw ConcurrentObjectUseError(std::string("gevent: another greenlet is already ") +
                                     direction + " this file");
    busy_ = true;
  }
  ~Turn() { busy_ = false; }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

 private:
  bool& busy_;
};

BufferedStream::BufferedStream(std::size_t buffer_size)
    : buffer_size_(std::max<std::size_t>(buffer_size, 1)) {}

// The buffer grows by buffer_size_ for the read, and shrinks back to what was read even when
// a kill or Timeout interrupts it.
bool BufferedStream::fill(std::error_code& ec) {
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  struct Trim {
    std::string& in;
    std::size_t size;
    ~Trim() { in.resize(size); }
  } trim{in_, in_.size()};
  in_.resize(trim.size + buffer_size_);
  const auto n = read_some(std::span<char>(in_).subspan(trim.size), ec);
  trim.size += n;
  return !ec && n > 0;
}

std::string BufferedStream::take(std::size_t n) {
  n = std::min(n, in_.size() - in_pos_);
  std::string out = in_.substr(in_pos_, n);
  in_pos_ += n;
  return out;
}

std::string BufferedStream::read(std::size_t n, std::error_code& ec) {
  Turn turn(reading_, "reading");
  ec.clear();
  while (in_.size() - in_pos_ < n && fill(ec)) {
  }
  return take(n);
}

std::string BufferedStream::read_all(std::error_code& ec) { return read(SIZE_MAX, ec); }

std::string BufferedStream::readline(std::size_t limit, std::error_code& ec) {
  Turn turn(reading_, "reading");
  ec.clear();
  std::size_t scanned = 0;  // bytes after in_pos_ already searched for '\n'
  for (;;) {
    const auto available = in_.size() - in_pos_;
    const auto newline = in_.find('\n', in_pos_ + scanned);
    if (newline != std::string::npos) return take(std::min(newline + 1 - in_pos_, limit));
    if (available >= limit) return take(limit);
    scanned = available;
    if (!fill(ec)) return take(limit);
  }
}

std::size_t BufferedStream::readinto(std::span<char> buf, std::error_code& ec) {
  Turn turn(reading_, "reading");
  ec.clear();
  if (in_pos_ == in_.size() && !fill(ec)) return 0;
  const auto n = std::min(buf.size(), in_.size() - in_pos_);
  std::copy_n(in_.data() + in_pos_, n, buf.data());
  in_pos_ += n;
  return n;
}

void BufferedStream::write(std::string_view data, std::error_code& ec) {
  Turn turn(writing_, "writing");
  ec.clear();
  out_.append(data);
  if (out_.size() >= buffer_size_) flush_locked(ec);
}

void BufferedStream::flush(std::error_code& ec) {
  Turn turn(writing_, "writing");
  flush_locked(ec);
}

void BufferedStream::flush_locked(std::error_code& ec) {
  ec.clear();
  if (out_.empty()) return;
  struct Drop {
    std::string& out;
    std::size_t written = 0;
    ~Drop() { out.erase(0, written); }
  } drop{out_};
  write_all(out_, drop.written, ec);
}

// Throws ec as the failure of `operation`, through the stream's own exception type.
auto BufferedStream::raise_as(const char* operation) const {
  return [this, operation](std::error_code ec) { throw_error(ec, operation); };
}

std::string BufferedStream::read(std::size_t n) {
  return detail::or_throw([&](std::error_code& ec) { return read(n, ec); }, raise_as("read"));
}

std::string BufferedStream::read_all() {
  return detail::or_throw([&](std::error_code& ec) { return read_all(ec); }, raise_as("read_all"));
}

std::string BufferedStream::readline(std::size_t limit) {
  return detail::or_throw([&](std::error_code& ec) { return readline(limit, ec); },
                          raise_as("readline"));
}

std::size_t BufferedStream::readinto(std::span<char> buf) {
  return detail::or_throw([&](std::error_code& ec) { return readinto(buf, ec); },
                          raise_as("readinto"));
}

void BufferedStream::write(std::string_view data) {
  detail::or_throw([&](std::error_code& ec) { write(data, ec); }, raise_as("write"));
}

void BufferedStream::flush() {
  detail::or_throw([&](std::error_code& ec) { flush(ec); }, raise_as("flush"));
}

}  // namespace gevent::detail
