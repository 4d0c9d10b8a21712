#include "gevent/socket_file.hpp"

#include <algorithm>

#include "gevent/socket.hpp"
#include "io/socket_state.hpp"

namespace gevent {

SocketFile::SocketFile(socket& sock, std::size_t buffer_size)
    : sock_(&sock), buffer_size_(std::max<std::size_t>(buffer_size, 1)) {}

SocketFile::~SocketFile() {
  if (!sock_ || out_.empty()) return;
  std::error_code ignored;
  flush(ignored);
}

bool SocketFile::fill(std::error_code& ec) {
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  const auto old = in_.size();
  in_.resize(old + buffer_size_);
  const auto n = sock_->recv(std::span<char>(in_).subspan(old), 0, ec);
  in_.resize(old + n);
  return !ec && n > 0;
}

std::string SocketFile::take(std::size_t n) {
  n = std::min(n, in_.size() - in_pos_);
  std::string out = in_.substr(in_pos_, n);
  in_pos_ += n;
  return out;
}

std::string SocketFile::read(std::size_t n, std::error_code& ec) {
  ec.clear();
  while (in_.size() - in_pos_ < n && fill(ec)) {
  }
  return take(n);
}

std::string SocketFile::read_all(std::error_code& ec) { return read(SIZE_MAX, ec); }

std::string SocketFile::readline(std::size_t limit, std::error_code& ec) {
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

std::size_t SocketFile::readinto(std::span<char> buf, std::error_code& ec) {
  ec.clear();
  if (in_pos_ == in_.size() && !fill(ec)) return 0;
  const auto n = std::min(buf.size(), in_.size() - in_pos_);
  std::copy_n(in_.data() + in_pos_, n, buf.data());
  in_pos_ += n;
  return n;
}

void SocketFile::write(std::string_view data, std::error_code& ec) {
  ec.clear();
  out_.append(data);
  if (out_.size() >= buffer_size_) flush(ec);
}

void SocketFile::flush(std::error_code& ec) {
  std::size_t sent = 0;
  sock_->sendall(out_, 0, ec, &sent);
  out_.erase(0, sent);
}

std::string SocketFile::read(std::size_t n) {
  std::error_code ec;
  auto out = read(n, ec);
  detail::throw_if(ec, "makefile().read");
  return out;
}

std::string SocketFile::read_all() {
  std::error_code ec;
  auto out = read_all(ec);
  detail::throw_if(ec, "makefile().read_all");
  return out;
}

std::string SocketFile::readline(std::size_t limit) {
  std::error_code ec;
  auto out = readline(limit, ec);
  detail::throw_if(ec, "makefile().readline");
  return out;
}

std::size_t SocketFile::readinto(std::span<char> buf) {
  std::error_code ec;
  const auto n = readinto(buf, ec);
  detail::throw_if(ec, "makefile().readinto");
  return n;
}

void SocketFile::write(std::string_view data) {
  std::error_code ec;
  write(data, ec);
  detail::throw_if(ec, "makefile().write");
}

void SocketFile::flush() {
  std::error_code ec;
  flush(ec);
  detail::throw_if(ec, "makefile().flush");
}

}  // namespace gevent
