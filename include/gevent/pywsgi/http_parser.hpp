// The HTTP/1.1 request-head parser under gevent::pywsgi (layer wsgi): RFC 9112 syntax and the
// RFC 9110 facts a server must decide once per request, strict where gevent's pywsgi is lax.
//
// Contract (every call):
// - parse_request() reads one request head from the front of `input`. It allocates nothing,
//   keeps no state between calls and never reads outside `input`: feed it the bytes received so
//   far, and when it answers `incomplete`, call it again from the same start once more bytes
//   have arrived. Every string_view it stores points into `input`, so `input` must outlive
//   the Request and must not move; no byte is modified.
// - `complete`: `consumed` is the size of the head (leading empty lines, request line, field
//   lines, the empty line that ends them). The body, or the next pipelined request, starts at
//   input[consumed].
// - `incomplete`: nothing found so far is wrong and no limit is exceeded yet; `consumed` is 0.
// - `error`: `error` names the first rule broken, status_code(error) the response to send
//   (always a 4xx/5xx), reason(error) a short phrase. The connection must be closed after
//   that response: the framing of anything that follows is unknown. `out` is unspecified.
// - Bytes are checked left to right and each limit as soon as it is crossed, so a prefix of an
//   input yields either `incomplete` or the very result the whole input yields.
//
// Choices where the RFC leaves one (tested in tests/wsgi/test_http_parser.cpp):
// - Lines end in CRLF only: a bare LF (RFC 9112 2.2 "MAY recognize") is a 400, as is a bare CR.
// - Up to Limits::max_empty_lines empty lines (CRLF) before the request line are skipped.
// - Transfer-Encoding together with Content-Length is rejected (400), as is Transfer-Encoding
//   in an HTTP/1.0 request (RFC 9112 6.1 says its framing is faulty).
// - The only transfer coding implemented is chunked: any other coding is a 501; chunked that is
//   not the final coding, or is applied twice, is a 400.
// - Content-Length may repeat the same value (in one list or several lines, RFC 9110 8.6);
//   different values are a 400, a value over 2^63-1 a 413.
// - HTTP/1.2 to 1.9 are read as HTTP/1.1 (RFC 9110 2.5); other majors, and 0.9, are a 505.
// - The request target may hold any visible ASCII byte (0x21-0x7E), as browsers and curl
//   send raw `|`, `{`, `^` in queries; control bytes, DEL and bytes >= 0x80 are a 400.
// - An expectation other than 100-continue is a 417 (HTTP/1.1; HTTP/1.0 ignores Expect).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace gevent::pywsgi::http {

// Why a request (or a chunked body) was refused. status_code() maps each to the response.
enum class ParseError : std::uint8_t {
  none = 0,
  // Request line (RFC 9112 3).
  bad_request_line,      // 400: not `method SP target SP version CRLF`
  bad_method,            // 400: the method is not a token
  method_too_long,       // 501: longer than any method a server implements
  bad_target,            // 400: not origin-, absolute-, authority- (CONNECT) or asterisk-form
  target_too_long,       // 414
  bad_version,           // 400: not HTTP/DIGIT.DIGIT
  unsupported_version,   // 505
  too_many_empty_lines,  // 400: more empty lines before the request line than allowed
  // Lines and fields (RFC 9112 2.2, 5).
  bare_lf,                  // 400
  bare_cr,                  // 400
  bad_field_name,           // 400: empty, or a byte that is not a tchar
  space_before_colon,       // 400
  missing_colon,            // 400
  bad_field_value,          // 400: NUL, a control byte or DEL
  obs_fold,                 // 400: a field line that starts with whitespace
  too_many_fields,          // 431
  field_section_too_large,  // 431
  // Semantics (RFC 9110, RFC 9112 3.2, 6).
  missing_host,                           // 400: HTTP/1.1 without Host
  duplicate_host,                         // 400
  bad_host,                               // 400
  bad_content_length,                     // 400
  content_length_too_large,               // 413: over 2^63-1
  bad_transfer_encoding,                  // 400: not a list of codings ending in chunked
  unknown_transfer_coding,                // 501
  transfer_encoding_in_http10,            // 400
  transfer_encoding_with_content_length,  // 400
  unsupported_expectation,                // 417
  // Chunked body (RFC 9112 7.1).
  bad_chunk_size,             // 400: empty or not hexadecimal
  chunk_size_overflow,        // 400: over 2^63-1
  bad_chunk_extension,        // 400
  chunk_extensions_too_long,  // 400: over ChunkedDecoder::Limits::max_extension_bytes
  missing_chunk_crlf,         // 400: chunk data not followed by CRLF
  trailer_section_too_large,  // 431
};

// The HTTP status code to answer `e` with (400, 413, 414, 417, 431, 501, 505); 0 for none.
int status_code(ParseError e) noexcept;
// A short English phrase for logs and error bodies, e.g. "whitespace before colon".
std::string_view reason(ParseError e) noexcept;

enum class ParseStatus : std::uint8_t { complete, incomplete, error };

struct ParseResult {
  ParseStatus status = ParseStatus::incomplete;
  ParseError error = ParseError::none;
  std::size_t consumed = 0;  // complete only: bytes of the head

  bool complete() const noexcept { return status == ParseStatus::complete; }
  bool incomplete() const noexcept { return status == ParseStatus::incomplete; }
};

// One field line, both views into the caller's buffer. The value is trimmed of surrounding
// whitespace; its bytes are as sent (no unfolding, no decoding).
struct Header {
  std::string_view name;
  std::string_view value;
};

// The most field lines a request may carry (RFC 9112 asks for limits; nginx allows ~100).
inline constexpr std::size_t kMaxFields = 100;

// The sizes above which a head is refused. The defaults are those the server uses.
struct Limits {
  std::size_t max_method = 32;                // 501 above
  std::size_t max_target = 8 * 1024;          // 414 above
  std::size_t max_field_section = 64 * 1024;  // 431 above: field lines + final CRLF
  std::size_t max_empty_lines = 16;           // 400 above
};

enum class TargetForm : std::uint8_t { origin, absolute, authority, asterisk };
enum class Version : std::uint8_t { http10, http11 };

// A parsed request head. Views point into the buffer given to parse_request().
struct Request {
  std::string_view method;  // case-sensitive token, e.g. "GET"
  std::string_view target;  // the request-target as sent
  TargetForm form = TargetForm::origin;
  std::string_view scheme;     // absolute-form: "http" or "https" as sent; else empty
  std::string_view authority;  // absolute-form and authority-form (CONNECT); else empty
  std::string_view path;       // up to '?': "/a/b" (origin, absolute: empty means "/"), "*"
  std::string_view query;      // after the first '?', without it; empty when there is none
  Version version = Version::http11;
  std::span<const Header> headers;  // in order received; a prefix of the caller's array

  // The semantic facts, decided once.
  std::optional<std::uint64_t> content_length;  // the body's size, when sent
  bool chunked = false;          // Transfer-Encoding: chunked (then content_length is empty)
  bool keep_alive = true;        // RFC 9112 9.3: "close" ends it; HTTP/1.0 needs "keep-alive"
  bool expect_continue = false;  // HTTP/1.1 `Expect: 100-continue`
  bool has_host = false;         // a Host field was sent
  std::string_view host;         // its value, or the authority of an absolute-form target

  bool has_body() const noexcept { return chunked || content_length.value_or(0) > 0; }
};

// Parses one request head from the front of `input` into `out`, storing field lines into
// `fields` (more lines than fields.size() is a 431 too_many_fields). See the contract above.
ParseResult parse_request(std::string_view input, std::span<Header> fields, Request& out,
                          const Limits& limits = {}) noexcept;

// ASCII case-insensitive equality, for field names and tokens ("Content-Length").
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace gevent::pywsgi::http
