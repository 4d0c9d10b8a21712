// Helpers for the HTTP parser tests: every parse goes through a guard page, and every input
// checked with parse() is also fed in every split to show that a prefix yields `incomplete` or
// exactly what the whole yields.
#pragma once

#include <gevent/pywsgi/http_parser.hpp>

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "support/harness.hpp"
#include "wsgi/guarded_buffer.hpp"

namespace gevent::testing {

namespace http = gevent::pywsgi::http;

// Not copyable: req.headers points into `fields`, and every view into `buffer`.
struct Parsed {
  Parsed() = default;
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  std::unique_ptr<GuardedBuffer> buffer;
  http::ParseResult result;
  http::Request req;
  std::array<http::Header, http::kMaxFields> fields{};
  std::string_view input;  // where the parsed copy lives (in the guarded buffer)

  std::string_view header(std::string_view name) const {
    for (const auto& h : req.headers)
      if (http::iequals(h.name, name)) return h.value;
    return "<absent>";
  }
};

// Every view the parser returned lies inside the input.
inline void expect_views_inside(const Parsed& p) {
  auto inside = [&p](std::string_view v) {
    return v.empty() ||
           (v.data() >= p.input.data() && v.data() + v.size() <= p.input.data() + p.input.size());
  };
  const http::Request& r = p.req;
  for (std::string_view v : {r.method, r.target, r.scheme, r.authority, r.path, r.query, r.host})
    EXPECT_TRUE(inside(v)) << "view outside the input: " << v;
  for (const auto& h : r.headers) EXPECT_TRUE(inside(h.name) && inside(h.value));
}

inline void parse_into(GuardedBuffer& buffer, std::string_view input, Parsed& out,
                       const http::Limits& limits) {
  out.input = buffer.place(input);
  out.result = http::parse_request(out.input, out.fields, out.req, limits);
  if (out.result.complete()) {
    EXPECT_LE(out.result.consumed, input.size());
    expect_views_inside(out);
  }
}

// Splits tried: all of them for small inputs, about 300 evenly spread for large ones.
inline void expect_prefixes_agree(GuardedBuffer& buffer, std::string_view input,
                                  const Parsed& whole, const http::Limits& limits) {
  std::size_t stride = input.size() > 4096 ? input.size() / 300 : 1;
  Parsed part;
  for (std::size_t k = 0; k < input.size(); k += stride) {
    parse_into(buffer, input.substr(0, k), part, limits);
    if (part.result.incomplete()) continue;
    ASSERT_EQ(static_cast<int>(part.result.status), static_cast<int>(whole.result.status))
        << "prefix of " << k << " bytes";
    ASSERT_EQ(part.result.error, whole.result.error) << "prefix of " << k << " bytes";
    ASSERT_EQ(part.result.consumed, whole.result.consumed) << "prefix of " << k << " bytes";
  }
}

inline std::unique_ptr<Parsed> parse(std::string_view input, const http::Limits& limits = {}) {
  auto whole = std::make_unique<Parsed>();
  whole->buffer = std::make_unique<GuardedBuffer>(input.size());
  parse_into(*whole->buffer, input, *whole, limits);
  expect_prefixes_agree(*whole->buffer, input, *whole, limits);
  parse_into(*whole->buffer, input, *whole, limits);  // the views point at the whole input again
  return whole;
}

inline http::ParseError parse_error(std::string_view input, const http::Limits& limits = {}) {
  auto p = parse(input, limits);
  EXPECT_EQ(p->result.status, http::ParseStatus::error) << "accepted: " << input.substr(0, 200);
  return p->result.error;
}

// A minimal valid HTTP/1.1 head with the given extra field lines (each ending in CRLF).
inline std::string get_with(std::string_view fields) {
  return "GET / HTTP/1.1\r\nHost: example.com\r\n" + std::string(fields) + "\r\n";
}

}  // namespace gevent::testing
