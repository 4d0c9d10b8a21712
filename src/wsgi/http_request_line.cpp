// The request line (RFC 9112 2.2, 3) and the forms of its target (RFC 9112 3.2).
#include <cstring>

#include "wsgi/http_chars.hpp"
#include "wsgi/http_internal.hpp"

namespace gevent::pywsgi::http::detail {

namespace {

// RFC 9112 2.2: "a server that is expecting to receive and parse a request-line SHOULD ignore
// at least one empty line (CRLF) received prior to the request-line."
Scan skip_crlf(const char* p, const char* end) noexcept {
  if (p + 1 >= end) return Scan::need_more();
  return p[1] == '\n' ? Scan::ok(p + 2) : Scan::fail(ParseError::bare_cr);
}

// method = token                                                         (RFC 9110 9.1)
// RFC 9112 3: "A server that receives a method longer than any that it implements SHOULD
// respond with a 501 (Not Implemented) status code."
Scan parse_method(const char* p, const char* end, Request& out, const Limits& limits) noexcept {
  const char* start = p;
  while (p < end && is(*p, kTchar)) {
    if (static_cast<std::size_t>(++p - start) > limits.max_method)
      return Scan::fail(ParseError::method_too_long);
  }
  if (p == end) return Scan::need_more();
  bool separator = *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n';
  if (*p != ' ' || p == start)
    return Scan::fail(separator || p == start ? ParseError::bad_request_line
                                              : ParseError::bad_method);
  out.method = {start, static_cast<std::size_t>(p - start)};
  return Scan::ok(p + 1);
}

// The target's bytes, up to the SP before the version. RFC 9112 3: "A server that receives a
// request-target longer than any URI it wishes to parse MUST respond with a 414".
Scan parse_target_bytes(const char* p, const char* end, Request& out,
                        const Limits& limits) noexcept {
  std::size_t available = static_cast<std::size_t>(end - p);
  const char* window = available > limits.max_target ? p + limits.max_target + 1 : end;
  const char* stop = find_target_stop(p, window);
  if (stop == window) {
    if (static_cast<std::size_t>(stop - p) > limits.max_target)
      return Scan::fail(ParseError::target_too_long);
    return Scan::need_more();
  }
  if (*stop == ' ' && stop != p) {
    out.target = {p, static_cast<std::size_t>(stop - p)};
    return Scan::ok(stop + 1);
  }
  // An empty target, a second SP, or a line that ends after the target (HTTP/0.9).
  bool structural = *stop == ' ' || *stop == '\r' || *stop == '\n';
  return Scan::fail(structural ? ParseError::bad_request_line : ParseError::bad_target);
}

// HTTP-version = HTTP-name "/" DIGIT "." DIGIT ; HTTP-name = %s"HTTP"    (RFC 9112 2.3)
// then CRLF. Checked byte by byte so that garbage is refused before the line ends.
Scan parse_version(const char* p, const char* end, Request& out) noexcept {
  static constexpr std::string_view http11 = "HTTP/1.1\r\n";  // nearly every request
  if (static_cast<std::size_t>(end - p) >= http11.size() &&
      std::memcmp(p, http11.data(), http11.size()) == 0) {
    out.version = Version::http11;
    return Scan::ok(p + http11.size());
  }
  static constexpr std::string_view shape = "HTTP/0.0\r\n";  // '0': any DIGIT
  std::size_t i = 0;
  for (; i < shape.size() && p + i < end; ++i) {
    char c = p[i];
    bool match = shape[i] == '0' ? is(c, kDigit) : c == shape[i];
    if (match) continue;
    if (i < 8) return Scan::fail(ParseError::bad_version);
    if (i == 8) {
      if (c == '\n') return Scan::fail(ParseError::bare_lf);
      return Scan::fail(is(c, kDigit) ? ParseError::bad_version : ParseError::bad_request_line);
    }
    return Scan::fail(ParseError::bare_cr);
  }
  if (i < shape.size()) return Scan::need_more();
  // RFC 9110 2.5: a recipient that implements major version 1 reads a higher minor version
  // "as if it were in the highest minor version within that major version".
  char major = p[5], minor = p[7];
  if (major != '1') return Scan::fail(ParseError::unsupported_version);
  out.version = minor == '0' ? Version::http10 : Version::http11;
  return Scan::ok(p + shape.size());
}

bool is_port(std::string_view s) noexcept {
  for (char c : s)
    if (!is(c, kDigit)) return false;
  return true;
}

}  // namespace

// Host = uri-host [ ":" port ]                                        (RFC 9110 7.2)
// uri-host = IP-literal / IPv4address / reg-name ; port = *DIGIT     (RFC 3986 3.2.2, 3.2.3)
bool is_valid_host(std::string_view host) noexcept {
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : host.substr(1, close - 1))
      if (!is(c, kRegName) && c != ':') return false;
    host.remove_prefix(close + 1);
    return host.empty() || (host.front() == ':' && is_port(host.substr(1)));
  }
  std::size_t i = 0;
  while (i < host.size() && is(host[i], kRegName)) ++i;
  if (i == host.size()) return true;
  return host[i] == ':' && is_port(host.substr(i + 1));
}

namespace {

void split_path_query(std::string_view rest, Request& out) noexcept {
  std::size_t question = rest.find('?');
  out.path = rest.substr(0, question);
  out.query =
      question == std::string_view::npos ? rest.substr(rest.size()) : rest.substr(question + 1);
}

// absolute-form = absolute-URI                                          (RFC 9112 3.2.2)
// For an origin server only http(s) URIs mean anything: scheme "://" authority path-abempty
// [ "?" query ]. RFC 9110 4.2.1: an "http" URI with an empty host MUST be rejected; userinfo
// is deprecated there, so '@' is refused too.
bool split_absolute_form(Request& out) noexcept {
  std::string_view t = out.target;
  std::size_t colon = t.find("://");
  if (colon == std::string_view::npos) return false;
  std::string_view scheme = t.substr(0, colon);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return false;
  std::string_view rest = t.substr(colon + 3);
  std::size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  if (authority.empty() || !is_valid_host(authority)) return false;
  out.form = TargetForm::absolute;
  out.scheme = scheme;
  out.authority = authority;
  split_path_query(rest.substr(authority.size()), out);
  return true;
}

// request-target = origin-form / absolute-form / authority-form / asterisk-form
// origin-form = absolute-path [ "?" query ]                           (RFC 9112 3.2)
// authority-form = uri-host ":" port, for CONNECT only; asterisk-form = "*", for OPTIONS only.
bool split_target(Request& out) noexcept {
  std::string_view t = out.target;
  if (out.method == "CONNECT") {
    std::size_t colon = t.rfind(':');
    std::size_t bracket = t.rfind(']');
    bool has_port = colon != std::string_view::npos && colon + 1 < t.size() &&
                    (bracket == std::string_view::npos || bracket < colon);
    if (!has_port || !is_valid_host(t)) return false;
    out.form = TargetForm::authority;
    out.authority = t;
    out.path = t.substr(t.size());
    out.query = out.path;
    return true;
  }
  if (t.front() == '/') {
    out.form = TargetForm::origin;
    split_path_query(t, out);
    return true;
  }
  if (t == "*") {
    if (out.method != "OPTIONS") return false;
    out.form = TargetForm::asterisk;
    out.path = t;
    out.query = t.substr(1);
    return true;
  }
  return split_absolute_form(out);
}

}  // namespace

Scan skip_empty_lines(const char* p, const char* end, const Limits& limits) noexcept {
  for (std::size_t lines = 0; p < end; ++lines) {
    if (*p == '\n') return Scan::fail(ParseError::bare_lf);
    if (*p != '\r') return Scan::ok(p);
    if (lines == limits.max_empty_lines) return Scan::fail(ParseError::too_many_empty_lines);
    Scan s = skip_crlf(p, end);
    if (!s.complete()) return s;
    p = s.pos;
  }
  return Scan::need_more();
}

// request-line = method SP request-target SP HTTP-version                (RFC 9112 3)
// RFC 9112 3: recipients MAY split on any whitespace; this parser keeps to single SPs.
Scan parse_request_line(const char* p, const char* end, Request& out,
                        const Limits& limits) noexcept {
  Scan s = parse_method(p, end, out, limits);
  if (!s.complete()) return s;
  s = parse_target_bytes(s.pos, end, out, limits);
  if (!s.complete()) return s;
  s = parse_version(s.pos, end, out);
  if (!s.complete()) return s;
  if (!split_target(out)) return Scan::fail(ParseError::bad_target);
  return s;
}

}  // namespace gevent::pywsgi::http::detail
