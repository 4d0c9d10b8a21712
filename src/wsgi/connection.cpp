// The request loop of a connection: heads, keep-alive, pipelining, errors, closing.
#include "wsgi/connection.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "gevent/exceptions.hpp"
#include "io/socket_state.hpp"
#include "sys/libc.hpp"
#include "wsgi/response_text.hpp"

namespace gevent::pywsgi::detail {
namespace {

constexpr std::size_t kInitialBuffer = 16 * 1024;
// Free space kept after a head that announces a body: the chunked framing and a whole trailer
// section (ChunkedDecoder's default limit is 16 KiB) must fit beside it.
constexpr std::size_t kBodyRoom = 20 * 1024;
// Answers to pipelined requests are gathered up to this size before they are sent.
constexpr std::size_t kFlushAt = 64 * 1024;
// After a response that ends the connection while the client may still be sending, its
// bytes are read and dropped this long, so that closing does not reset the connection and
// destroy the response in flight (nginx's lingering close).
constexpr auto kLinger = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 1 << 20;
// A head's first bytes are parsed as they come, so that bytes that cannot start a request are
// refused at once (the parser checks byte by byte); past them, parsing waits for a line end,
// as a head trickled byte by byte would otherwise be parsed again for every byte.
constexpr std::size_t kParsedAsTheyCome = 256;

std::size_t max_head(const http::Limits& limits) {
  // The request line (method, target, version, a margin), the field section, empty lines.
  return limits.max_method + limits.max_target + 64 + limits.max_field_section +
         2 * limits.max_empty_lines;
}

MaybeDuration remaining(gevent::detail::Clock::time_point deadline) {
  return std::max(deadline - coarse_now(), gevent::detail::Clock::duration::zero());
}

}  // namespace

Connection::Connection(const ServerContext& server) : server_(server), in_(kInitialBuffer) {}

bool Connection::serve(ConnectionRecord& record) {
  attach(record);
  try {
    for (;;) {
      const Next next = read_head();
      if (next == Next::park) return true;
      if (next == Next::close) break;
      serve_request();
      if (close_after_ || server_.stopping) break;
    }
    flush();
    close_gracefully();
  } catch (const ClientGone&) {
    // The client reset or stopped reading: nothing more can be said to it.
  }
  return false;
}

// A worker's Connection serves one record after another; whatever the last one left (a
// client gone mid-request) is dropped.
void Connection::attach(ConnectionRecord& record) {
  record_ = &record;
  sock_ = &record.sock;
  watchdog_.watch(record.sock.fileno());
  remote_known_ = false;
  in_.clear();
  out_.clear();
  body_left_ = 0;
  close_after_ = false;
}

void Connection::learn_remote() {
  if (remote_known_) return;
  const address& peer = record_->peer;
  remote_addr_ = peer.family() == AF_UNIX ? "" : peer.host();
  remote_port_ = peer.family() == AF_UNIX ? "" : std::to_string(peer.port());
  remote_known_ = true;
}

// Reads until a whole request head is in the buffer: request. Between requests, with nothing
// buffered and nothing to read now: park. Else close: the client closed, took too long, or
// sent a head that was refused (then answered).
Connection::Next Connection::read_head() {
  const auto& options = server_.options;
  std::optional<gevent::detail::Clock::time_point> deadline;
  in_.rewind_if_empty();
  // The first request's head is due within header_timeout of the connection's start; a later
  // one's, within header_timeout of its first byte.
  if (options.header_timeout && record_->first_request)
    deadline = record_->since + options.header_timeout.value();
  else if (options.header_timeout && !in_.empty())
    deadline = coarse_now() + options.header_timeout.value();
  bool may_be_complete = !in_.empty();
  for (;;) {
    if (may_be_complete) {
      const auto result = http::parse_request(in_.unused(), fields_, request_, options.limits);
      if (result.complete()) {
        prepare_request(result.consumed);
        return Next::request;
      }
      if (!result.incomplete()) {
        refuse(http::status_code(result.error), http::reason(result.error));
        return Next::close;
      }
    }
    if (in_.space().empty() && !make_room_for_head()) {
      refuse(431, "request header fields too large");
      return Next::close;
    }
    flush();  // the answers to pipelined requests go out before waiting for more
    const bool head_started = !in_.empty();
    const std::size_t before = in_.unused().size();
    std::error_code ec;
    // Between requests the connection is parked rather than waited on (its timeouts then
    // are Connections'); a head that came in part is waited for here.
    const std::size_t n = head_started
                              ? receive(deadline ? remaining(*deadline) : MaybeDuration{}, ec)
                              : receive_now(ec);
    if (ec == std::errc::operation_would_block) return Next::park;
    if (ec == std::errc::timed_out) {
      refuse(408, "the request head took too long");
      return Next::close;
    }
    if (ec) throw ClientGone();
    if (n == 0) return Next::close;  // the client closed between requests (or mid-head)
    if (!deadline && options.header_timeout)
      deadline = coarse_now() + options.header_timeout.value();
    // Parsing starts over from the head's first byte: only a new line can end the head.
    may_be_complete = std::memchr(in_.unused().data() + before, '\n', n) != nullptr ||
                      in_.unused().size() <= kParsedAsTheyCome;
  }
}

std::size_t Connection::receive(MaybeDuration timeout, std::error_code& ec) {
  Watchdog::Scope limit(watchdog_, timeout);
  const std::size_t n = sock_->recv(in_.space(), ec);
  in_.commit(n);
  return n;
}

std::size_t Connection::receive_now(std::error_code& ec) {
  const std::size_t n =
      gevent::detail::recv_now(gevent::detail::SocketAccess::of(*sock_), in_.space(), ec);
  in_.commit(n);
  return n;
}

// Between requests: move the unused bytes to the front, else grow up to the largest head.
bool Connection::make_room_for_head() {
  in_.pin(0);
  if (in_.begin_offset() > 0) {
    in_.compact();
    return true;
  }
  const std::size_t largest = max_head(server_.options.limits) + kBodyRoom;
  if (in_.capacity() >= largest) return false;
  in_.reallocate(std::min(largest, in_.capacity() * 2));
  return true;
}

void Connection::prepare_request(std::size_t head_size) {
  if (request_.has_body() && in_.capacity() - in_.begin_offset() - head_size < kBodyRoom) {
    // Make room for the body's framing beside the head, then find the head's fields again
    // where they now are (nothing refers to them yet).
    in_.pin(0);
    in_.compact();
    if (in_.capacity() - head_size < kBodyRoom)
      in_.reallocate(head_size + kBodyRoom + kInitialBuffer);
    http::parse_request(in_.unused(), fields_, request_, server_.options.limits);
  }
  const char* line = request_.method.data();
  request_line_ = {line, static_cast<std::size_t>(request_.target.data() + request_.target.size() +
                                                  std::strlen(" HTTP/1.1") - line)};
  in_.consume(head_size);
  in_.pin(in_.begin_offset());
  record_->first_request = false;
  head_request_ = request_.method == "HEAD";
  if (server_.options.log) started_ = std::chrono::steady_clock::now();
  decode_path();
  content_length_text_ = {};
  if (request_.content_length) {
    const auto end = std::to_chars(std::begin(content_length_buf_), std::end(content_length_buf_),
                                   *request_.content_length)
                         .ptr;
    content_length_text_ = {content_length_buf_,
                            static_cast<std::size_t>(end - content_length_buf_)};
  }
  joined_.clear();
  body_left_ = request_.chunked ? kUnknownLength : request_.content_length.value_or(0);
  if (request_.chunked) chunked_ = http::ChunkedDecoder{};
  pending_ = {};
  continue_sent_ = false;
  reset_response();
}

void Connection::serve_request() {
  try {
    run_application();
  } catch (const ClientGone&) {
    throw;
  } catch (const GreenletExit&) {
    server_.log_error("request \"" + std::string(request_line_) + "\" from " +
                      std::string(remote_addr()) +
                      " cut off unanswered: the server stopped (stop_timeout) or killed it");
    throw;
  } catch (const std::exception&) {
    fail_request(std::current_exception());
  }
  finish_request();
}

// The application raised: a 500 (or the InputError's status) if nothing was sent yet, else
// the connection is dropped, for the client to see a truncated response.
void Connection::fail_request(std::exception_ptr error) {
  int status = 500;
  std::string what;
  try {
    std::rethrow_exception(error);
  } catch (const InputError& e) {
    status = e.status();
    what = e.what();
  } catch (const std::exception& e) {
    what = e.what();
  }
  if (status == 500)
    server_.log_error("application error for \"" + std::string(request_line_) + "\" from " +
                      std::string(remote_addr()) + ": " + what);
  close_after_ = true;
  if (headers_sent_) {  // nothing of this response can be mended: the client sees it cut
    flush();
    throw ClientGone();
  }
  respond_with_error(status, status == 500 ? "Internal Server Error" : what);
}

// An answer of the server's own, after which the connection closes.
void Connection::respond_with_error(int status, std::string_view message) {
  reset_response();
  status_code_ = status;
  body_sent_ = append_error_response(out_, status, message, server_.server_line, !head_request_);
  close_after_ = true;
}

void Connection::finish_request() {
  if (!close_after_ && body_left_ != 0) {
    // The client waits for our 100 before it sends the body: it may never send it.
    if (request_.expect_continue && !continue_sent_) {
      close_after_ = true;
    } else {
      flush();  // the answer first: the client may wait for it before it sends the rest
      discard_body();
    }
  }
  if (!request_.keep_alive) close_after_ = true;
  log_access();
  if (out_.size() >= kFlushAt) flush();
}

// A head that breaks a rule: its status, and the connection ends (framing is lost).
void Connection::refuse(int status, std::string_view reason) {
  request_line_ = {};
  head_request_ = false;  // the head was not understood: its method is not known
  if (server_.options.log) started_ = std::chrono::steady_clock::now();
  respond_with_error(status, reason);
  log_access();
}

// Closes without losing the answers in flight: when the client may still be sending (bytes
// unread, a body not taken), stop writing and read its bytes a while before the socket
// closes, since closing with unread input resets the connection.
void Connection::close_gracefully() {
  if (in_.empty() && body_left_ == 0) return;
  std::error_code ec;
  sock_->shutdown(SHUT_WR, ec);
  if (ec) return;
  const auto deadline = coarse_now() + kLinger;
  char scratch[16 * 1024];
  std::size_t total = 0;
  while (total < kLingerBytes) {
    Watchdog::Scope limit(watchdog_, remaining(deadline));
    const std::size_t n = sock_->recv(scratch, ec);
    if (ec || n == 0) return;
    total += n;
  }
}

}  // namespace gevent::pywsgi::detail
