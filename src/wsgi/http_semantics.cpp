// What the fields of a complete head mean for the server: message framing (RFC 9112 6),
// persistence (RFC 9112 9.3), Expect (RFC 9110 10.1.1) and Host (RFC 9112 3.2).
#include <limits>

#include "wsgi/http_chars.hpp"
#include "wsgi/http_internal.hpp"

namespace gevent::pywsgi::http::detail {

namespace {

// The fields this file reads, gathered in one pass over the head.
struct Framing {
  const Header* host = nullptr;
  int host_count = 0;
  int content_length_count = 0;
  bool transfer_encoding = false;
  bool connection = false;
  bool expect = false;
};

constexpr std::uint64_t kMaxLength = std::numeric_limits<std::int64_t>::max();

// Content-Length = 1*DIGIT                                              (RFC 9110 8.6)
// RFC 9110 8.6: a recipient of a list of identical decimal values ("42, 42") MAY accept it as
// the single value; any other list is invalid. RFC 9112 6.3: an invalid Content-Length without
// Transfer-Encoding is an unrecoverable framing error, answered with 400.
ParseError merge_content_length(std::string_view value, std::optional<std::uint64_t>& length) {
  for (;;) {
    std::size_t comma = value.find(',');
    std::string_view element = value.substr(0, comma);
    while (!element.empty() && is_ows(element.back())) element.remove_suffix(1);
    if (element.empty()) return ParseError::bad_content_length;  // "", "42,", ", 42"
    std::uint64_t n = 0;
    for (char c : element) {
      if (!is(c, kDigit)) return ParseError::bad_content_length;
      auto digit = static_cast<std::uint64_t>(c - '0');
      if (n > (kMaxLength - digit) / 10) return ParseError::content_length_too_large;
      n = n * 10 + digit;
    }
    if (length && *length != n) return ParseError::bad_content_length;
    length = n;
    if (comma == std::string_view::npos) return ParseError::none;
    value.remove_prefix(comma + 1);
    while (!value.empty() && is_ows(value.front())) value.remove_prefix(1);
  }
}

// Transfer-Encoding = #transfer-coding                                  (RFC 9112 6.1)
// transfer-coding = token *( OWS ";" OWS transfer-parameter )            (RFC 9110 10.1.4)
// RFC 9112 6.1: if chunked is not the final coding of a request, the server MUST answer 400;
// chunked MUST NOT be applied twice; an unknown coding SHOULD get a 501. Only chunked is
// implemented here, so every other coding is a 501.
struct Codings {
  int chunked = 0;
  int others = 0;
  bool last_is_chunked = false;
};

ParseError merge_transfer_encoding(std::string_view value, Codings& codings) {
  ParseError error = ParseError::none;
  auto fail = [&error](ParseError e) { return error = e, false; };
  for_each_list_element(value, [&](std::string_view element) {
    std::size_t end = 0;
    while (end < element.size() && is(element[end], kTchar)) ++end;
    std::string_view coding = element.substr(0, end);
    std::string_view rest = element.substr(end);
    while (!rest.empty() && is_ows(rest.front())) rest.remove_prefix(1);
    bool has_params = !rest.empty();
    if (coding.empty() || (has_params && rest.front() != ';'))
      return fail(ParseError::bad_transfer_encoding);
    bool chunked = iequals(coding, "chunked");
    if (chunked && has_params) return fail(ParseError::bad_transfer_encoding);
    ++(chunked ? codings.chunked : codings.others);
    codings.last_is_chunked = chunked;
    return true;
  });
  return error;
}

ParseError decide_transfer_encoding(const Request& req, bool& chunked) {
  Codings codings;
  for (const Header& h : req.headers) {
    if (!iequals(h.name, "transfer-encoding")) continue;
    if (ParseError e = merge_transfer_encoding(h.value, codings); e != ParseError::none) return e;
  }
  if (!codings.last_is_chunked || codings.chunked > 1) return ParseError::bad_transfer_encoding;
  if (codings.others > 0) return ParseError::unknown_transfer_coding;
  chunked = true;
  return ParseError::none;
}

// RFC 9112 6.1: "A server or client that receives an HTTP/1.0 message containing a
// Transfer-Encoding header field MUST treat the message as if the framing is faulty". RFC 9112
// 6.3: Transfer-Encoding with Content-Length "ought to be handled as an error": rejected here.
ParseError decide_framing(Request& req, const Framing& f) {
  if (f.transfer_encoding) {
    if (req.version == Version::http10) return ParseError::transfer_encoding_in_http10;
    if (f.content_length_count > 0) return ParseError::transfer_encoding_with_content_length;
    return decide_transfer_encoding(req, req.chunked);
  }
  if (f.content_length_count == 0) return ParseError::none;
  for (const Header& h : req.headers) {
    if (!iequals(h.name, "content-length")) continue;
    if (ParseError e = merge_content_length(h.value, req.content_length); e != ParseError::none)
      return e;
  }
  return ParseError::none;
}

// Connection = #connection-option ; connection-option = token          (RFC 9110 7.6.1)
// RFC 9112 9.3: "close" ends the connection after the response; otherwise HTTP/1.1 persists,
// and HTTP/1.0 persists only with the "keep-alive" option.
void decide_persistence(Request& req, const Framing& f) {
  if (!f.connection) {
    req.keep_alive = req.version == Version::http11;
    return;
  }
  bool close = false, keep_alive = false;
  for (const Header& h : req.headers) {
    if (!iequals(h.name, "connection")) continue;
    for_each_list_element(h.value, [&](std::string_view option) {
      close |= iequals(option, "close");
      keep_alive |= iequals(option, "keep-alive");
      return true;
    });
  }
  req.keep_alive = !close && (req.version == Version::http11 || keep_alive);
}

// Expect = #expectation ; expectation = token [ "=" ( token / quoted-string ) parameters ]
// RFC 9110 10.1.1: the only expectation defined is "100-continue" (case-insensitive); a server
// MAY answer any other with 417, and MUST ignore 100-continue in an HTTP/1.0 request.
ParseError decide_expectation(Request& req, const Framing& f) {
  if (!f.expect || req.version == Version::http10) return ParseError::none;
  ParseError error = ParseError::none;
  for (const Header& h : req.headers) {
    if (!iequals(h.name, "expect")) continue;
    for_each_list_element(h.value, [&](std::string_view expectation) {
      if (!iequals(expectation, "100-continue")) {
        error = ParseError::unsupported_expectation;
        return false;
      }
      req.expect_continue = true;
      return true;
    });
  }
  return error;
}

// RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
// request message that lacks a Host header field and to any request message that contains
// more than one Host header field line or a Host header field with an invalid field value."
// RFC 9112 3.2.2: with an absolute-form target the server uses its authority, not Host.
ParseError decide_host(Request& req, const Framing& f) {
  if (f.host_count > 1) return ParseError::duplicate_host;
  if (f.host_count == 0 && req.version == Version::http11) return ParseError::missing_host;
  if (f.host && !is_valid_host(f.host->value)) return ParseError::bad_host;
  req.has_host = f.host != nullptr;
  req.host = req.form == TargetForm::absolute ? req.authority
             : f.host                         ? f.host->value
                                              : std::string_view{};
  return ParseError::none;
}

// Dispatch on the name's length first: most fields of a request are none of these.
Framing gather(const Request& req) {
  Framing f;
  for (const Header& h : req.headers) {
    switch (h.name.size()) {
      case 4:
        if (iequals(h.name, "host")) f.host = &h, ++f.host_count;
        break;
      case 6:
        if (iequals(h.name, "expect")) f.expect = true;
        break;
      case 10:
        if (iequals(h.name, "connection")) f.connection = true;
        break;
      case 14:
        if (iequals(h.name, "content-length")) ++f.content_length_count;
        break;
      case 17:
        if (iequals(h.name, "transfer-encoding")) f.transfer_encoding = true;
        break;
    }
  }
  return f;
}

}  // namespace

ParseError decide_semantics(Request& req) noexcept {
  Framing f = gather(req);
  if (ParseError e = decide_host(req, f); e != ParseError::none) return e;
  if (ParseError e = decide_framing(req, f); e != ParseError::none) return e;
  if (ParseError e = decide_expectation(req, f); e != ParseError::none) return e;
  decide_persistence(req, f);
  return ParseError::none;
}

}  // namespace gevent::pywsgi::http::detail
