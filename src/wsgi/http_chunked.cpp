// The chunked transfer coding (RFC 9112 7.1). Chunk-size lines are read a byte at a time (they
// are short), chunk data is handed out as one view per call, trailer lines whole.
//
//   chunked-body   = *chunk last-chunk trailer-section CRLF
//   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-size     = 1*HEXDIG
//   last-chunk     = 1*("0") [ chunk-ext ] CRLF
//   chunk-data     = 1*OCTET ; a sequence of chunk-size octets
#include <gevent/pywsgi/http_chunked.hpp>

#include <algorithm>
#include <limits>

#include "wsgi/http_chars.hpp"
#include "wsgi/http_internal.hpp"

namespace gevent::pywsgi::http {

using detail::is;
using detail::is_ows;
using detail::kHexDigit;
using detail::kPairChar;
using detail::kQdtext;
using detail::kTchar;

namespace {

constexpr std::uint64_t kMaxChunkSize = std::numeric_limits<std::int64_t>::max();
constexpr std::uint8_t kFreeDigits = 16;  // digits beyond these (leading zeros) cost budget

int hex_value(char c) noexcept {
  if (c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

ChunkedStep step(ChunkedStatus status, const char* begin, const char* p) noexcept {
  return {status, ParseError::none, static_cast<std::size_t>(p - begin), {}, {}};
}

}  // namespace

ChunkedStep ChunkedDecoder::fail(ParseError e) noexcept {
  state_ = State::failed;
  error_ = e;
  return {ChunkedStatus::error, e, 0, {}, {}};
}

ChunkedStep ChunkedDecoder::decode(std::string_view input) noexcept {
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const char* p = begin;
  for (;;) {
    switch (state_) {
      case State::done:
        return step(ChunkedStatus::done, begin, begin);
      case State::failed:
        return {ChunkedStatus::error, error_, 0, {}, {}};
      case State::trailer:
        return decode_trailer(begin, p, end);
      case State::data: {
        if (p == end) return step(ChunkedStatus::need_more, begin, p);
        std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(end - p)));
        remaining_ -= n;
        body_size_ += n;
        if (remaining_ == 0) state_ = State::data_cr;
        ChunkedStep s = step(ChunkedStatus::data, begin, p + n);
        s.data = {p, n};
        return s;
      }
      default:
        if (p == end) return step(ChunkedStatus::need_more, begin, p);
        if (ParseError e = step_line_byte(*p++); e != ParseError::none) return fail(e);
    }
  }
}

// One byte of a chunk-size line or of the CRLF after chunk data.
ParseError ChunkedDecoder::step_line_byte(char c) noexcept {
  switch (state_) {
    case State::size_start:
      if (!is(c, kHexDigit)) return c == '\n' ? ParseError::bare_lf : ParseError::bad_chunk_size;
      state_ = State::size;
      remaining_ = 0;
      digits_ = 0;
      return step_size_digit(c);
    case State::size:
      if (is(c, kHexDigit)) return step_size_digit(c);
      if (c == '\r')
        state_ = State::size_lf;
      else if (c == ';')
        state_ = State::ext_name_start;
      else if (is_ows(c))
        state_ = State::ext_pre;
      else
        return c == '\n' ? ParseError::bare_lf : ParseError::bad_chunk_size;
      return ParseError::none;
    case State::size_lf:
      if (c != '\n') return ParseError::bare_cr;
      state_ = remaining_ == 0 ? State::trailer : State::data;
      return ParseError::none;
    // RFC 9112 7.1.3: the decoder reads "chunk-data CRLF" and nothing else may stand there.
    case State::data_cr:
      if (c != '\r') return ParseError::missing_chunk_crlf;
      state_ = State::data_lf;
      return ParseError::none;
    case State::data_lf:
      if (c != '\n') return ParseError::missing_chunk_crlf;
      state_ = State::size_start;
      return ParseError::none;
    default:
      return step_extension(c);
  }
}

// RFC 9112 7.1: "Recipients MUST anticipate potentially large hexadecimal numerals and
// prevent parsing errors due to integer conversion overflows or precision loss due to integer
// representation." Sizes above 2^63-1 are refused.
ParseError ChunkedDecoder::step_size_digit(char c) noexcept {
  if (digits_ <= kFreeDigits) ++digits_;
  if (digits_ > kFreeDigits && ++extension_bytes_ > limits_.max_extension_bytes)
    return ParseError::chunk_extensions_too_long;
  auto d = static_cast<std::uint64_t>(hex_value(c));
  if (remaining_ > (kMaxChunkSize - d) >> 4) return ParseError::chunk_size_overflow;
  remaining_ = remaining_ << 4 | d;
  return ParseError::none;
}

// chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// chunk-ext-name = token
// chunk-ext-val  = token / quoted-string                               (RFC 9112 7.1.1)
// quoted-string  = DQUOTE *( qdtext / quoted-pair ) DQUOTE              (RFC 9110 5.6.4)
// "A recipient MUST ignore unrecognized chunk extensions": all are, once checked.
ParseError ChunkedDecoder::step_extension(char c) noexcept {
  if (++extension_bytes_ > limits_.max_extension_bytes)
    return ParseError::chunk_extensions_too_long;
  if (c == '\n') return ParseError::bare_lf;
  auto go = [this](State next) {
    state_ = next;
    return ParseError::none;
  };
  constexpr ParseError bad = ParseError::bad_chunk_extension;
  switch (state_) {
    case State::ext_pre:
      if (is_ows(c)) return ParseError::none;
      return c == ';' ? go(State::ext_name_start) : bad;
    case State::ext_name_start:
      if (is_ows(c)) return ParseError::none;
      return is(c, kTchar) ? go(State::ext_name) : bad;
    case State::ext_name:
      if (is(c, kTchar)) return ParseError::none;
      if (c == '=') return go(State::ext_value_start);
      if (is_ows(c)) return go(State::ext_after_name);
      if (c == ';') return go(State::ext_name_start);
      return c == '\r' ? go(State::size_lf) : bad;
    case State::ext_after_name:
      if (is_ows(c)) return ParseError::none;
      if (c == '=') return go(State::ext_value_start);
      return c == ';' ? go(State::ext_name_start) : bad;
    case State::ext_value_start:
      if (is_ows(c)) return ParseError::none;
      if (c == '"') return go(State::ext_quoted);
      return is(c, kTchar) ? go(State::ext_token) : bad;
    case State::ext_token:
      if (is(c, kTchar)) return ParseError::none;
      return end_extension_value(c);
    case State::ext_quoted:
      if (c == '"') return go(State::ext_value_end);
      if (c == '\\') return go(State::ext_quoted_pair);
      return is(c, kQdtext) ? ParseError::none : bad;
    case State::ext_quoted_pair:
      return is(c, kPairChar) ? go(State::ext_quoted) : bad;
    case State::ext_value_end:
      return end_extension_value(c);
    default:
      return bad;  // not reached: decode() handles the other states
  }
}

ParseError ChunkedDecoder::end_extension_value(char c) noexcept {
  if (c == ';')
    state_ = State::ext_name_start;
  else if (is_ows(c))
    state_ = State::ext_pre;
  else if (c == '\r')
    state_ = State::size_lf;
  else
    return ParseError::bad_chunk_extension;
  return ParseError::none;
}

// trailer-section = *( field-line CRLF )                                (RFC 9112 7.1.2)
// A line is read only once it is whole (it is handed out as one Header), so a partial line is
// left unconsumed. The section ends with the CRLF that ends the chunked body.
ChunkedStep ChunkedDecoder::decode_trailer(const char* begin, const char* p,
                                           const char* end) noexcept {
  if (p == end) return step(ChunkedStatus::need_more, begin, p);
  if (*p == '\n') return fail(ParseError::bare_lf);
  if (*p == '\r') {
    if (p + 1 == end) return step(ChunkedStatus::need_more, begin, p);
    if (p[1] != '\n') return fail(ParseError::bare_cr);
    state_ = State::done;
    return step(ChunkedStatus::done, begin, p + 2);
  }
  std::size_t budget = limits_.max_trailer_section - trailer_bytes_;
  bool truncated = static_cast<std::size_t>(end - p) > budget;
  ChunkedStep s{};
  detail::Scan line = detail::parse_field_line(p, truncated ? p + budget : end, s.trailer);
  if (line.status == ParseStatus::incomplete) {
    if (truncated) return fail(ParseError::trailer_section_too_large);
    return step(ChunkedStatus::need_more, begin, p);
  }
  if (!line.complete()) return fail(line.error);
  trailer_bytes_ += static_cast<std::size_t>(line.pos - p);
  s.status = ChunkedStatus::trailer;
  s.consumed = static_cast<std::size_t>(line.pos - begin);
  return s;
}

}  // namespace gevent::pywsgi::http
