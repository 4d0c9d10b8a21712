// The response: start_response, the body in its four shapes, framing, and sending.
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "sys/libc.hpp"
#include "wsgi/connection.hpp"
#include "wsgi/http_chars.hpp"
#include "wsgi/http_internal.hpp"
#include "wsgi/response_text.hpp"

namespace gevent::pywsgi::detail {
namespace {

// Body bytes at least this large are sent as they are rather than copied behind the head.
constexpr std::size_t kCopyLimit = 16 * 1024;
constexpr std::size_t kFileCopyPiece = 64 * 1024;
constexpr std::size_t kSendfilePiece = 256 * 1024;

[[noreturn]] void application_error(const std::string& what) {
  throw std::invalid_argument("gevent::pywsgi: " + what);
}

std::uint64_t parse_length(std::string_view text) {
  std::uint64_t length = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (ec != std::errc() || end != text.data() + text.size())
    application_error("bad Content-Length \"" + std::string(text) + "\"");
  return length;
}

// Whether the list value of a Connection header holds `option` (RFC 9112 9.6).
bool lists_option(std::string_view list, std::string_view option) {
  return !http::detail::for_each_list_element(
      list, [&](std::string_view element) { return !http::iequals(element, option); });
}

}  // namespace

class Connection::Starter final : public StartResponse {
 public:
  explicit Starter(Connection& connection) : connection_(connection) {}

 private:
  Write& start(std::string_view status, Headers headers, std::exception_ptr exc) override {
    return connection_.start_response(status, headers, std::move(exc));
  }
  Connection& connection_;
};

void Connection::run_application() {
  if (request_.content_length) enforce_body_limit(*request_.content_length);
  Environ environ(*this);
  Starter start_response(*this);
  Body body = server_.application(environ, start_response);
  if (!started_response_) application_error("the application returned without start_response");
  send_body(body);
}

void Connection::reset_response() {
  started_response_ = headers_sent_ = false;
  app_date_ = app_server_ = app_connection_ = false;
  status_code_ = 0;
  head_.clear();
  declared_length_.reset();
  framing_ = Framing::none;
  body_sent_ = 0;
}

Write& Connection::start_response(std::string_view status, Headers headers,
                                  std::exception_ptr exc_info) {
  if (started_response_) {
    if (!exc_info) application_error("start_response called twice without exc_info");
    if (headers_sent_) std::rethrow_exception(exc_info);
  }
  reset_response();
  parse_status(status);
  head_.clear();
  head_ += "HTTP/1.1 ";
  head_ += status;
  head_ += "\r\n";
  for (const HeaderLine& header : headers) add_header(header);
  started_response_ = true;
  return *this;
}

// "200 OK": three digits, then a space and a reason phrase (which may be empty). A final
// status only: 1xx answers are the server's business.
void Connection::parse_status(std::string_view status) {
  const bool digits =
      status.size() >= 3 &&
      std::all_of(status.begin(), status.begin() + 3, [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || (status.size() > 3 && status[3] != ' ') || !http::detail::is_field_value(status))
    application_error("bad status \"" + std::string(status) + "\": expected \"200 OK\"");
  status_code_ = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
  if (status_code_ < 200) application_error("the application may not send a 1xx status");
}

void Connection::add_header(const HeaderLine& header) {
  if (!http::detail::is_token(header.name))
    application_error("bad header name \"" + std::string(header.name) + "\"");
  if (!http::detail::is_field_value(header.value))
    application_error("a CR, LF or control byte in the value of header " +
                      std::string(header.name));
  note_server_header(header);
  head_ += header.name;
  head_ += ": ";
  head_ += header.value;
  head_ += "\r\n";
}

// The headers the server reads or would otherwise set itself. On the name's length first:
// most headers are none of these.
void Connection::note_server_header(const HeaderLine& header) {
  const std::string_view name = header.name;
  switch (name.size()) {
    case 4:
      app_date_ |= http::iequals(name, "Date");
      break;
    case 6:
      app_server_ |= http::iequals(name, "Server");
      break;
    case 10:
      if (!http::iequals(name, "Connection")) break;
      app_connection_ = true;
      if (lists_option(header.value, "close")) close_after_ = true;
      break;
    case 14:
      if (http::iequals(name, "Content-Length")) declared_length_ = parse_length(header.value);
      break;
    case 17:
      if (http::iequals(name, "Transfer-Encoding"))
        application_error("Transfer-Encoding is the server's to set");
      break;
  }
}

// No body for HEAD, 204 and 304 (RFC 9110 6.4.1), whatever the application returns.
bool Connection::body_allowed() const {
  return !head_request_ && status_code_ != 204 && status_code_ != 304;
}

void Connection::send_body(Body& body) {
  std::visit(
      [this](auto& content) {
        using T = std::decay_t<decltype(content)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          send_text({});
        else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>)
          send_text(content);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>)
          send_chunks(content);
        else if constexpr (std::is_same_v<T, Body::Generator>)
          send_generator(content);
        else
          send_file(content);
      },
      body.content());
  end_body();
}

void Connection::send_text(std::string_view text) {
  if (!headers_sent_) begin_body(Framing::length, text.size());
  write_body_bytes(text);
}

void Connection::send_chunks(std::vector<std::string>& chunks) {
  if (!headers_sent_) {
    std::uint64_t total = 0;
    for (const std::string& chunk : chunks) total += chunk.size();
    begin_body(Framing::length, total);
  }
  for (const std::string& chunk : chunks) write_body_bytes(chunk);
}

// Each piece goes out as it comes (PEP 3333: a server may not hold a block back), the first
// with the head.
void Connection::send_generator(Body::Generator& next) {
  if (!headers_sent_) {
    if (!body_allowed()) return begin_body(Framing::none, {});
    begin_body(streaming_framing(), {});
  }
  while (std::optional<std::string> piece = next()) {
    if (piece->empty()) continue;  // an empty chunk would end a chunked body
    write_body_bytes(*piece);
    flush();
  }
}

void Connection::send_file(Body::File& file) {
  if (!headers_sent_) begin_body(Framing::length, file.count);
  if (!body_allowed()) return;
  const bool counted_by_sendfile =
      framing_ == Framing::close ||
      (framing_ == Framing::length && *declared_length_ - body_sent_ == file.count);
  if (!counted_by_sendfile) {
    // Framed or counted by us: through write_body_bytes, a piece at a time.
    std::string piece;
    for (std::size_t done = 0; done < file.count;) {
      piece.resize(std::min(kFileCopyPiece, file.count - done));
      const ssize_t n = sys::pread(file.fd, piece.data(), piece.size(), file.offset + done);
      if (n <= 0) application_error("the file body ended before its announced size");
      piece.resize(static_cast<std::size_t>(n));
      write_body_bytes(piece);
      done += piece.size();
    }
    return;
  }
  flush();
  std::error_code ec;
  const std::size_t sent = sendfile_in_pieces(file, ec);
  body_sent_ += sent;
  if (ec) throw ClientGone();
  if (sent < file.count) application_error("the file body ended before its announced size");
}

// Each piece has its own time limit: io_timeout bounds the wait for progress, not the whole
// transfer of a large file to a slow client.
std::size_t Connection::sendfile_in_pieces(const Body::File& file, std::error_code& ec) {
  std::size_t sent = 0;
  while (sent < file.count) {
    const std::size_t piece = std::min(kSendfilePiece, file.count - sent);
    Watchdog::Scope limit(watchdog_, server_.options.io_timeout);
    const std::size_t n =
        sock_->sendfile(file.fd, file.offset + static_cast<off_t>(sent), piece, ec);
    sent += n;
    if (ec || n < piece) break;
  }
  return sent;
}

// A body of unknown length: chunked on HTTP/1.1, else ended by closing the connection.
Connection::Framing Connection::streaming_framing() {
  if (declared_length_) return Framing::length;
  if (request_.version == http::Version::http11) return Framing::chunked;
  close_after_ = true;
  return Framing::close;
}

// Puts the head in the output: the application's status and headers, then the framing
// (unless the application gave a Content-Length), Connection, Date and Server.
void Connection::begin_body(Framing framing, std::optional<std::uint64_t> length) {
  framing_ = framing;
  out_ += head_.view();
  const bool no_body_status = status_code_ == 204 || status_code_ == 304;
  if (framing == Framing::length && !declared_length_ && !no_body_status) {
    out_ += "Content-Length: ";
    append_decimal(out_, *length);
    out_ += "\r\n";
  }
  if (framing == Framing::length && !declared_length_) declared_length_ = length;
  if (framing == Framing::chunked) out_ += "Transfer-Encoding: chunked\r\n";
  if (!request_.keep_alive) close_after_ = true;
  // A client told to wait for our 100 may never send the body (see finish_request).
  if (body_left_ != 0 && request_.expect_continue && !continue_sent_) close_after_ = true;
  if (!app_connection_) {
    if (close_after_)
      out_ += "Connection: close\r\n";
    else if (request_.version == http::Version::http10)
      out_ += "Connection: keep-alive\r\n";
  }
  if (!app_date_) out_ += date_line();
  if (!app_server_) {
    out_ += server_.server_line;
  }
  out_ += "\r\n";
  headers_sent_ = true;
}

void Connection::write_body_bytes(std::string_view data) {
  if (!body_allowed() || data.empty()) return;
  if (framing_ == Framing::length) {
    const std::uint64_t room = *declared_length_ - body_sent_;
    if (data.size() > room) {
      server_.log_error("the response to \"" + std::string(request_line_) +
                        "\" is longer than its Content-Length; the rest was not sent");
      data = data.substr(0, room);
      close_after_ = true;
    }
  }
  body_sent_ += data.size();
  if (framing_ == Framing::chunked) {
    append_hex(out_, data.size());
    out_ += "\r\n";
  }
  if (data.size() >= kCopyLimit) {
    flush();
    send_now(data);
  } else {
    out_ += data;
  }
  if (framing_ == Framing::chunked) out_ += "\r\n";
}

void Connection::end_body() {
  if (!body_allowed()) return;
  if (framing_ == Framing::chunked) out_ += "0\r\n\r\n";
  if (framing_ == Framing::length && body_sent_ < *declared_length_) {
    server_.log_error("the response to \"" + std::string(request_line_) +
                      "\" is shorter than its Content-Length; closing the connection");
    close_after_ = true;
  }
}

// The write callable that start_response returns.
void Connection::operator()(std::string_view data) {
  if (!started_response_) application_error("write() called before start_response");
  if (!headers_sent_) begin_body(body_allowed() ? streaming_framing() : Framing::none, {});
  write_body_bytes(data);
  flush();
}

void Connection::flush() {
  if (out_.empty()) return;
  send_now(out_.view());
  out_.clear();
}

// Each send that has to wait gets the whole io_timeout: it bounds the wait for progress (as
// nginx's send_timeout does), not the transfer of a large body to a slow client.
void Connection::send_now(std::string_view data) {
  std::error_code ec;
  while (!data.empty()) {
    Watchdog::Scope limit(watchdog_, server_.options.io_timeout);
    const std::size_t n = sock_->send(data, 0, ec);
    if (ec || n == 0) throw ClientGone();
    data.remove_prefix(n);
  }
}

// gevent's format: client - - [local time] "request line" status length seconds, formatted
// by hand straight into the server's gathered lines.
void Connection::log_access() {
  AccessLog& log = *server_.access_log;
  if (!log.on()) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  OutputBuffer& line = log.next_line();
  const std::string_view client = remote_addr();
  line += client.empty() ? "-" : client;
  line += " - - [";
  line += local_time_text();
  line += "] \"";
  line += request_line_;
  line += "\" ";
  append_decimal(line, static_cast<std::uint64_t>(status_code_));
  line += " ";
  if (body_sent_ == 0)
    line += "-";
  else
    append_decimal(line, body_sent_);
  line += " ";
  append_seconds(line, seconds);
  line += "\n";
}

}  // namespace gevent::pywsgi::detail
