// A raw HTTP/1.1 client for the server tests: it sends exactly the bytes a test writes and
// reads responses byte-exactly (Content-Length, chunked, or up to the close).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gevent/pywsgi/http_parser.hpp"
#include "gevent/socket.hpp"

namespace gevent::testing {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool chunked = false;

  // The first value of header `name`, "" if there is none.
  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (pywsgi::http::iequals(n, name)) return v;
    return "";
  }
  bool has(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (pywsgi::http::iequals(n, name)) return true;
    return false;
  }
};

class HttpClient {
 public:
  explicit HttpClient(const address& server)
      : sock_(create_connection(server, std::chrono::seconds(5))) {}

  void send(std::string_view bytes) { sock_.sendall(bytes); }

  // Reads one response; `head` for the answer to a HEAD request (no body whatever it says).
  HttpResponse read_response(bool head = false) {
    const std::size_t end = read_until("\r\n\r\n");
    HttpResponse r = parse_head(buffer_.substr(0, end));
    buffer_.erase(0, end + 4);
    const bool no_body = head || r.status == 204 || r.status == 304 || r.status / 100 == 1;
    if (no_body) return r;
    if (pywsgi::http::iequals(r.header("Transfer-Encoding"), "chunked")) {
      r.chunked = true;
      read_chunked(r.body);
    } else if (r.has("Content-Length")) {
      r.body = take(std::stoull(r.header("Content-Length")));
    } else {
      r.body = read_to_close();
    }
    return r;
  }

  // Bytes until the server closes (or `limit` seconds pass: then what came so far).
  std::string read_to_close() {
    fill_until_closed();
    return std::exchange(buffer_, {});
  }

  // Whether the server closed the connection (after everything read so far) within 2 s.
  bool closed_by_server() {
    if (!buffer_.empty()) return false;
    char c;
    sock_.settimeout(std::chrono::seconds(2));
    std::error_code ec;
    const std::size_t n = sock_.recv({&c, 1}, ec);
    sock_.settimeout(std::chrono::seconds(5));
    if (n == 1) buffer_ += c;
    return n == 0 && (!ec || ec == std::errc::connection_reset);
  }

  gevent::socket& socket() { return sock_; }

 private:
  static HttpResponse parse_head(std::string_view head) {
    HttpResponse r;
    const auto line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12)
      throw std::runtime_error("bad status line: " + std::string(status_line));
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      auto next = head.find("\r\n", pos);
      if (next == std::string_view::npos) next = head.size();
      const std::string_view line = head.substr(pos, next - pos);
      const auto colon = line.find(':');
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      r.headers.emplace_back(line.substr(0, colon), value);
      pos = next + 2;
    }
    return r;
  }

  void read_chunked(std::string& body) {
    for (;;) {
      const std::size_t line_end = read_until("\r\n");
      const std::size_t size = std::stoull(buffer_.substr(0, line_end), nullptr, 16);
      buffer_.erase(0, line_end + 2);
      if (size == 0) {
        buffer_.erase(0, read_until("\r\n") + 2);  // no trailers from this server
        return;
      }
      body += take(size);
      if (take(2) != "\r\n") throw std::runtime_error("chunk data not followed by CRLF");
    }
  }

  std::size_t read_until(std::string_view marker) {
    for (;;) {
      const auto at = buffer_.find(marker);
      if (at != std::string::npos) return at;
      if (!fill()) throw std::runtime_error("connection closed before " + escaped(marker));
    }
  }

  std::string take(std::size_t n) {
    while (buffer_.size() < n)
      if (!fill()) throw std::runtime_error("connection closed in a body");
    std::string part = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return part;
  }

  bool fill() {
    char chunk[16384];
    const std::size_t n = sock_.recv(chunk);
    buffer_.append(chunk, n);
    return n > 0;
  }

  void fill_until_closed() {
    std::error_code ec;
    char chunk[16384];
    while (const std::size_t n = sock_.recv(chunk, ec)) buffer_.append(chunk, n);
  }

  static std::string escaped(std::string_view s) {
    return s == "\r\n" ? "CRLF" : "the end of the head";
  }

  gevent::socket sock_;
  std::string buffer_;
};

}  // namespace gevent::testing
