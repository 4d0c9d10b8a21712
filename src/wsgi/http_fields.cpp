// Field lines (RFC 9112 5, RFC 9110 5.5), shared by the head and the chunked trailer section.
#include "wsgi/http_chars.hpp"
#include "wsgi/http_internal.hpp"

namespace gevent::pywsgi::http::detail {

namespace {

// field-name = token                                                    (RFC 9110 5.1)
// RFC 9112 5.1: "No whitespace is allowed between the field name and colon. ... A server MUST
// reject, with a response status code of 400 (Bad Request), any received request message that
// contains whitespace between a header field name and colon."
Scan parse_field_name(const char* p, const char* end, Header& out) noexcept {
  const char* start = p;
  p = find_name_stop(p, end);
  if (p == end) return Scan::need_more();
  if (*p == ':' && p != start) {
    out.name = {start, static_cast<std::size_t>(p - start)};
    return Scan::ok(p + 1);
  }
  if (is_ows(*p) && p != start) return Scan::fail(ParseError::space_before_colon);
  if (*p == '\r' || *p == '\n') return Scan::fail(ParseError::missing_colon);
  return Scan::fail(ParseError::bad_field_name);
}

// field-value = *field-content                                          (RFC 9110 5.5)
// field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
// field-vchar = VCHAR / obs-text
// RFC 9110 5.5: "Field values containing CR, LF, or NUL characters are invalid and dangerous";
// the other controls and DEL are not field-vchar either. The line ends in CRLF.
Scan parse_field_value(const char* p, const char* end, Header& out) noexcept {
  while (p < end && is_ows(*p)) ++p;  // OWS after the colon
  const char* start = p;
  for (;;) {
    p = find_value_stop(p, end);
    if (p == end) return Scan::need_more();
    if (*p == '\t') {
      ++p;
      continue;
    }
    if (*p == '\n') return Scan::fail(ParseError::bare_lf);
    if (*p != '\r') return Scan::fail(ParseError::bad_field_value);
    if (p + 1 == end) return Scan::need_more();
    if (p[1] != '\n') return Scan::fail(ParseError::bare_cr);
    break;
  }
  const char* value_end = p;
  while (value_end > start && is_ows(value_end[-1])) --value_end;  // OWS before CRLF
  out.value = {start, static_cast<std::size_t>(value_end - start)};
  return Scan::ok(p + 2);
}

}  // namespace

// field-line = field-name ":" OWS field-value OWS                      (RFC 9112 5)
// RFC 9112 5.2: obs-fold = OWS CRLF RWS. "A server that receives an obs-fold in a request
// message ... MUST either reject the message by sending a 400 (Bad Request) ... or replace
// each received obs-fold with one or more SP". This parser rejects. RFC 9112 2.2 gives the same
// choice for whitespace between the start-line and the first field; rejected likewise.
Scan parse_field_line(const char* p, const char* end, Header& out) noexcept {
  if (p == end) return Scan::need_more();
  if (is_ows(*p)) return Scan::fail(ParseError::obs_fold);
  Scan s = parse_field_name(p, end, out);
  if (!s.complete()) return s;
  return parse_field_value(s.pos, end, out);
}

// HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]   (RFC 9112 2.1)
// Lines and bytes are counted as they are read: a section that has crossed a limit is refused
// even before it ends (RFC 9112 asks servers to limit fields; 431 is RFC 6585's answer).
Scan parse_field_section(const char* p, const char* end, std::span<Header> fields,
                         std::size_t& count, std::size_t max_bytes) noexcept {
  bool truncated = static_cast<std::size_t>(end - p) > max_bytes;
  const char* limit = truncated ? p + max_bytes : end;
  Scan need_more = truncated ? Scan::fail(ParseError::field_section_too_large) : Scan::need_more();
  count = 0;
  for (;;) {
    if (p == limit) return need_more;
    if (*p == '\r') {
      if (p + 1 == limit) return need_more;
      return p[1] == '\n' ? Scan::ok(p + 2) : Scan::fail(ParseError::bare_cr);
    }
    if (*p == '\n') return Scan::fail(ParseError::bare_lf);
    if (count == fields.size()) return Scan::fail(ParseError::too_many_fields);
    Scan s = parse_field_line(p, limit, fields[count]);
    if (s.status == ParseStatus::incomplete) return need_more;
    if (!s.complete()) return s;
    ++count;
    p = s.pos;
  }
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is(c, kTchar)) return false;
  return true;
}

}  // namespace gevent::pywsgi::http::detail
