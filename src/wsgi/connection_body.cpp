// The request body, as wsgi.input reads it: Content-Length or chunked, and 100-continue.
#include <algorithm>
#include <cstring>

#include "wsgi/connection.hpp"

namespace gevent::pywsgi::detail {
namespace {

// A read at least this large, with nothing buffered, goes straight into the caller's buffer.
constexpr std::size_t kDirectRead = 16 * 1024;
// Room that must be free behind the unused bytes before a body read: else they move down.
constexpr std::size_t kMinReadRoom = 4 * 1024;

}  // namespace

std::string_view Connection::body_available() {
  if (body_left_ == 0) return {};
  if (request_.expect_continue && !continue_sent_) send_continue();
  if (request_.chunked) {
    while (pending_.empty() && body_left_ != 0) decode_next_chunk();
    return pending_;
  }
  if (in_.empty()) receive_body_bytes();
  const std::string_view buffered = in_.unused();
  return buffered.substr(0, std::min<std::uint64_t>(buffered.size(), body_left_));
}

void Connection::body_consume(std::size_t n) {
  if (request_.chunked) {
    pending_.remove_prefix(n);
  } else {
    in_.consume(n);
    body_left_ -= n;
  }
}

std::size_t Connection::read_body(std::span<char> buf) {
  if (buf.empty()) return 0;
  if (!request_.chunked && in_.empty() && buf.size() >= kDirectRead && body_left_ != 0 &&
      (continue_sent_ || !request_.expect_continue)) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), body_left_));
    std::error_code ec;
    Watchdog::Scope limit(watchdog_, server_.options.io_timeout);
    const std::size_t n = sock_->recv(buf.first(want), ec);
    if (ec || n == 0) throw_body_read_failed(ec);
    body_left_ -= n;
    return n;
  }
  const std::string_view available = body_available();
  if (available.empty()) return 0;
  const std::size_t n = std::min(available.size(), buf.size());
  std::memcpy(buf.data(), available.data(), n);
  body_consume(n);
  return n;
}

// A body of `size` bytes (announced, or decoded so far) over max_body_size: a 413, and the
// connection closes without reading the rest.
void Connection::enforce_body_limit(std::uint64_t size) {
  const std::optional<std::uint64_t>& limit = server_.options.max_body_size;
  if (!limit || size <= *limit) return;
  close_after_ = true;
  throw InputError(413, "request body too large");
}

// One step of the chunked decoder over the buffered bytes: data becomes pending_, the end sets
// body_left_ to 0, and a partial chunk line receives more bytes. Once the body is past
// max_body_size, every later read throws too (the decoded size only grows).
void Connection::decode_next_chunk() {
  enforce_body_limit(chunked_.body_size());
  const http::ChunkedStep step = chunked_.decode(in_.unused());
  in_.consume(step.consumed);
  switch (step.status) {
    case http::ChunkedStatus::data:
      enforce_body_limit(chunked_.body_size());
      pending_ = step.data;
      return;
    case http::ChunkedStatus::trailer:  // read and dropped, as gevent does
      return;
    case http::ChunkedStatus::done:
      body_left_ = 0;
      return;
    case http::ChunkedStatus::error:
      close_after_ = true;
      throw InputError(http::status_code(step.error),
                       "bad chunked request body: " + std::string(http::reason(step.error)));
    case http::ChunkedStatus::need_more:
      receive_body_bytes();
      return;
  }
}

// Receives more body bytes behind the unused ones. Only when none is pending: the bytes in
// front of the unused ones may move.
void Connection::receive_body_bytes() {
  if (in_.empty() || in_.space().size() < kMinReadRoom) in_.compact();
  if (in_.space().empty()) {  // a partial line larger than the room kept for it
    close_after_ = true;
    throw InputError(431, "a chunk line or trailer of the request body is too long");
  }
  std::error_code ec;
  if (receive(server_.options.io_timeout, ec) == 0) throw_body_read_failed(ec);
}

void Connection::throw_body_read_failed(std::error_code ec) {
  close_after_ = true;
  if (ec == std::errc::timed_out) throw InputError(408, "timed out reading the request body");
  if (ec) throw ClientGone();
  throw InputError(400, "the client closed the connection before the end of the body");
}

void Connection::send_continue() {
  continue_sent_ = true;
  out_ += "HTTP/1.1 100 Continue\r\n\r\n";
  flush();
}

// Reads and drops what the application left of the body, to reach the next request. A body
// too large for that, or broken, ends the connection instead.
void Connection::discard_body() {
  char scratch[16 * 1024];
  std::uint64_t dropped = 0;
  try {
    while (const std::size_t n = read_body(scratch)) {
      dropped += n;
      if (dropped > server_.options.max_discard) {
        close_after_ = true;
        return;
      }
    }
  } catch (const InputError&) {
    close_after_ = true;
  }
}

}  // namespace gevent::pywsgi::detail

namespace gevent::pywsgi {

std::size_t Input::read(std::span<char> buf) { return connection_.read_body(buf); }

std::string Input::read(std::size_t size) {
  std::string data;
  while (data.size() < size) {
    const std::string_view available = connection_.body_available();
    if (available.empty()) break;
    const std::size_t n = std::min(available.size(), size - data.size());
    data.append(available.data(), n);
    connection_.body_consume(n);
  }
  return data;
}

std::string Input::readline(std::size_t limit) {
  std::string line;
  while (line.size() < limit) {
    const std::string_view available = connection_.body_available();
    if (available.empty()) break;
    const std::size_t room = std::min(available.size(), limit - line.size());
    const auto newline = available.substr(0, room).find('\n');
    const std::size_t n = newline == std::string_view::npos ? room : newline + 1;
    line.append(available.data(), n);
    connection_.body_consume(n);
    if (newline != std::string_view::npos) break;
  }
  return line;
}

std::vector<std::string> Input::readlines() {
  std::vector<std::string> lines;
  for (std::string line = readline(); !line.empty(); line = readline())
    lines.push_back(std::move(line));
  return lines;
}

bool Input::at_end() const { return connection_.body_done(); }

Input::LineIterator& Input::LineIterator::operator++() {
  line_ = input_->readline();
  if (line_.empty()) input_ = nullptr;
  return *this;
}

}  // namespace gevent::pywsgi
