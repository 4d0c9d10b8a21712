// The chunked transfer coding of a request body (RFC 9112 7.1), decoded incrementally.
//
// Contract:
// - A ChunkedDecoder is the whole state of one body: a few machine words the caller owns.
//   It allocates nothing and copies nothing: data and trailer fields come back as views into
//   the input of the call that returned them, valid as long as that input is.
// - decode(input) reads from the front of `input` and returns one step. `consumed` bytes of
//   `input` are done with; the caller drops them and, at its next call, passes the bytes that
//   were not consumed followed by whatever arrived since. Any split of the body into reads
//   gives the same data, trailers and errors, in the same order.
// - `data`: `data` holds body bytes (never empty); call again for more.
// - `trailer`: `trailer` holds one field of the trailer section; call again. A caller that does
//   not want trailers just calls again.
// - `need_more`: everything usable was consumed (a partial trailer line is left unconsumed).
// - `done`: the body ended; `consumed` includes its final CRLF, and what follows in the input
//   is the next request. Later calls return `done` again, consuming nothing.
// - `error`: `error` says which rule was broken (status_code(error) is the answer; then close
//   the connection). Later calls return the same error.
// - What is accepted, strictly: chunk-size is 1*HEXDIG up to 2^63-1; chunk extensions must
//   follow the grammar and are otherwise ignored; their bytes (with leading zeros beyond 16
//   digits) count against Limits::max_extension_bytes for the whole body (RFC 9112 7.1.1
//   asks for such a limit); every line ends in CRLF (a bare LF or CR is an error); trailer
//   fields follow the rules of header fields and their total size is capped.
#pragma once

#include <gevent/pywsgi/http_parser.hpp>

#include <cstdint>
#include <string_view>

namespace gevent::pywsgi::http {

enum class ChunkedStatus : std::uint8_t { data, trailer, need_more, done, error };

struct ChunkedStep {
  ChunkedStatus status = ChunkedStatus::need_more;
  ParseError error = ParseError::none;
  std::size_t consumed = 0;
  std::string_view data;  // status data
  Header trailer;         // status trailer
};

class ChunkedDecoder {
 public:
  struct Limits {
    std::size_t max_extension_bytes = 16 * 1024;  // chunk-ext bytes over the whole body
    std::size_t max_trailer_section = 16 * 1024;  // trailer field lines, CRLFs included
  };

  ChunkedDecoder() noexcept = default;
  explicit ChunkedDecoder(const Limits& limits) noexcept : limits_(limits) {}

  ChunkedStep decode(std::string_view input) noexcept;

  bool done() const noexcept { return state_ == State::done; }
  // Body bytes returned so far.
  std::uint64_t body_size() const noexcept { return body_size_; }

 private:
  enum class State : std::uint8_t {
    size_start,      // before the first HEXDIG of a chunk-size
    size,            // in chunk-size
    ext_pre,         // BWS before ";"
    ext_name_start,  // after ";" (BWS, then chunk-ext-name)
    ext_name,
    ext_after_name,   // BWS before "=" or ";"
    ext_value_start,  // after "=" (BWS, then token or quoted-string)
    ext_token,
    ext_quoted,
    ext_quoted_pair,
    ext_value_end,  // after a closing DQUOTE
    size_lf,        // after the CR that ends a chunk-size line
    data,
    data_cr,
    data_lf,
    trailer,  // at the start of a trailer line or the final CRLF
    done,
    failed,
  };

  ParseError step_line_byte(char c) noexcept;
  ParseError step_size_digit(char c) noexcept;
  ParseError step_extension(char c) noexcept;
  ParseError end_extension_value(char c) noexcept;
  ChunkedStep decode_trailer(const char* begin, const char* p, const char* end) noexcept;
  ChunkedStep fail(ParseError e) noexcept;

  Limits limits_{};
  std::uint64_t remaining_ = 0;  // chunk-size being read, then data bytes left in the chunk
  std::uint64_t body_size_ = 0;
  std::size_t extension_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
  std::uint8_t digits_ = 0;  // HEXDIGs of the current chunk-size, up to 17
  State state_ = State::size_start;
  ParseError error_ = ParseError::none;
};

}  // namespace gevent::pywsgi::http
