// libFuzzer target: parse_request() and ChunkedDecoder on arbitrary bytes, checking the
// contracts of include/gevent/pywsgi/http_parser.hpp and http_chunked.hpp beyond "no crash":
// - consumed <= size; every view lies inside the input; the fields are a prefix of the array;
// - a prefix of the input parses as `incomplete` or exactly as the whole does;
// - the chunked decoder gives the same data, trailers and outcome over any split of its input;
//   data views lie inside the input; errors are sticky.
// Half the inputs (chosen by a hash, so a crash reproduces) run with tiny limits, so that the
// limit paths are reached by small inputs too. Build and run: fuzz/run.sh.
#include <gevent/pywsgi/http_chunked.hpp>
#include <gevent/pywsgi/http_parser.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

namespace http = gevent::pywsgi::http;

void check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant broken: %s\n", what);
    std::abort();
  }
}

bool inside(std::string_view v, std::string_view input) {
  return v.empty() ||
         (v.data() >= input.data() && v.data() + v.size() <= input.data() + input.size());
}

// A small deterministic generator seeded from the input (FNV-1a, then xorshift).
struct Random {
  std::uint64_t state;
  explicit Random(std::string_view data) : state(1469598103934665603ull) {
    for (unsigned char c : data) state = (state ^ c) * 1099511628211ull;
    state |= 1;
  }
  std::uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

struct Head {
  http::ParseResult result;
  http::Request req;
  std::array<http::Header, http::kMaxFields> fields;
};

void parse_checked(std::string_view input, const http::Limits& limits, Head& h) {
  h.result = http::parse_request(input, h.fields, h.req, limits);
  check((h.result.status == http::ParseStatus::error) == (h.result.error != http::ParseError::none),
        "error iff status error");
  if (h.result.status == http::ParseStatus::error) {
    int status = http::status_code(h.result.error);
    check(status >= 400 && status < 600, "error status is 4xx/5xx");
    return;
  }
  if (!h.result.complete()) {
    check(h.result.consumed == 0, "incomplete consumes nothing");
    return;
  }
  check(h.result.consumed > 0 && h.result.consumed <= input.size(), "consumed within input");
  const http::Request& r = h.req;
  for (std::string_view v : {r.method, r.target, r.scheme, r.authority, r.path, r.query, r.host})
    check(inside(v, input), "view inside input");
  check(r.headers.data() == h.fields.data() && r.headers.size() <= h.fields.size(), "fields");
  for (const auto& f : r.headers) check(inside(f.name, input) && inside(f.value, input), "field");
  check(!(r.chunked && r.content_length), "chunked and a content length");
}

void check_prefixes(std::string_view input, const http::Limits& limits, const Head& whole,
                    Random& random) {
  if (input.empty()) return;
  Head part;
  for (std::size_t k : {input.size() - 1, input.size() / 2,
                        static_cast<std::size_t>(random.next() % input.size())}) {
    parse_checked(input.substr(0, k), limits, part);
    if (part.result.incomplete()) continue;
    check(part.result.status == whole.result.status, "prefix status");
    check(part.result.error == whole.result.error, "prefix error");
    check(part.result.consumed == whole.result.consumed, "prefix consumed");
  }
}

struct Body {
  std::string data;
  std::string trailers;  // name ':' value '\n' for each
  http::ChunkedStatus status = http::ChunkedStatus::need_more;
  http::ParseError error = http::ParseError::none;
  std::string rest;
  bool operator==(const Body&) const = default;
};

// Feeds the body in pieces of 1..max_piece bytes (the whole at once when max_piece is 0).
Body decode_body(std::string_view body, const http::ChunkedDecoder::Limits& limits, Random& random,
                 std::size_t max_piece) {
  http::ChunkedDecoder decoder(limits);
  Body out;
  std::string pending;
  std::size_t offset = 0;
  while (offset < body.size() || offset == 0) {
    std::size_t n = max_piece == 0 ? body.size() : 1 + random.next() % max_piece;
    n = std::min(n, body.size() - offset);
    pending.append(body.substr(offset, n));
    offset += n;
    for (;;) {
      http::ChunkedStep step = decoder.decode(pending);
      check(step.consumed <= pending.size(), "chunked consumed within input");
      if (step.status == http::ChunkedStatus::data) {
        check(!step.data.empty() && inside(step.data, pending), "data view inside input");
        out.data += step.data;
      } else if (step.status == http::ChunkedStatus::trailer) {
        check(inside(step.trailer.name, pending) && inside(step.trailer.value, pending), "trailer");
        out.trailers.append(step.trailer.name).append(":").append(step.trailer.value) += '\n';
      }
      pending.erase(0, step.consumed);
      out.status = step.status;
      out.error = step.error;
      if (step.status != http::ChunkedStatus::data && step.status != http::ChunkedStatus::trailer)
        break;
    }
    if (out.status == http::ChunkedStatus::done || out.status == http::ChunkedStatus::error) break;
    if (body.empty()) break;
  }
  if (out.status == http::ChunkedStatus::error) {
    http::ChunkedStep again = decoder.decode("0\r\n\r\n");
    check(again.status == http::ChunkedStatus::error && again.error == out.error, "sticky error");
    pending.clear();
  } else {
    pending.append(body.substr(offset));
  }
  out.rest = pending;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(bytes), size);
  Random random(input);
  bool tiny = random.next() % 2 == 0;
  http::Limits limits;
  http::ChunkedDecoder::Limits chunked_limits;
  if (tiny) {
    limits = {.max_method = 8, .max_target = 64, .max_field_section = 256, .max_empty_lines = 2};
    chunked_limits = {.max_extension_bytes = 64, .max_trailer_section = 64};
  }

  Head whole;
  parse_checked(input, limits, whole);
  check_prefixes(input, limits, whole, random);

  // The body after a chunked head, or the raw input as a body.
  std::string_view body =
      whole.result.complete() && whole.req.chunked ? input.substr(whole.result.consumed) : input;
  Body at_once = decode_body(body, chunked_limits, random, 0);
  Body in_pieces = decode_body(body, chunked_limits, random, 1 + random.next() % 16);
  check(at_once == in_pieces, "chunked: split input decodes the same");
  return 0;
}
