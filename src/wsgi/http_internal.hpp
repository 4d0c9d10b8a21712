// The pieces parse_request() and ChunkedDecoder are built from. Each reads forward from `p`,
// never at or past `end`, and answers with a Scan: where it stopped, or why it could not go on.
#pragma once

#include <gevent/pywsgi/http_parser.hpp>

#include <span>
#include <string_view>

namespace gevent::pywsgi::http::detail {

struct Scan {
  ParseStatus status;
  ParseError error;
  const char* pos;  // complete: the first byte after what was read

  static Scan ok(const char* pos) noexcept {
    return {ParseStatus::complete, ParseError::none, pos};
  }
  static Scan need_more() noexcept { return {ParseStatus::incomplete, ParseError::none, nullptr}; }
  static Scan fail(ParseError e) noexcept { return {ParseStatus::error, e, nullptr}; }
  bool complete() const noexcept { return status == ParseStatus::complete; }
};

// Empty lines (CRLF) before the request line, at most limits.max_empty_lines of them.
Scan skip_empty_lines(const char* p, const char* end, const Limits& limits) noexcept;

// `method SP request-target SP HTTP-version CRLF`: fills method, target, version and the
// target's parts (form, scheme, authority, path, query).
Scan parse_request_line(const char* p, const char* end, Request& out,
                        const Limits& limits) noexcept;

// One `field-name ":" OWS field-value OWS CRLF`, starting at a byte that is not CR or LF.
Scan parse_field_line(const char* p, const char* end, Header& out) noexcept;

// Field lines up to and including the empty line; `count` receives how many were stored.
Scan parse_field_section(const char* p, const char* end, std::span<Header> fields,
                         std::size_t& count, std::size_t max_bytes) noexcept;

// The facts of RFC 9110 / 9112 3.2, 6, 9.3 from the fields: content length, chunked, keep-alive,
// Expect, Host. Called once the head is complete.
ParseError decide_semantics(Request& req) noexcept;

// A list value (RFC 9110 5.6.1 `#element`) split on commas; elements trimmed of OWS, empty
// elements skipped. Calls f(element) for each until f returns false; then returns false.
template <typename F>
bool for_each_list_element(std::string_view value, F&& f) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view element = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    while (!element.empty() && (element.front() == ' ' || element.front() == '\t'))
      element.remove_prefix(1);
    while (!element.empty() && (element.back() == ' ' || element.back() == '\t'))
      element.remove_suffix(1);
    if (!element.empty() && !f(element)) return false;
  }
  return true;
}

bool is_token(std::string_view s) noexcept;

// Host = uri-host [ ":" port ] (RFC 9110 7.2); an empty value is valid.
bool is_valid_host(std::string_view host) noexcept;

}  // namespace gevent::pywsgi::http::detail
