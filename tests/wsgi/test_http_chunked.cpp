// ChunkedDecoder: data, extensions, trailers, errors, and the same result over every split of
// the input. Each decode() call reads a copy placed right before a PROT_NONE page.
#include <gevent/pywsgi/http_chunked.hpp>

#include <string>
#include <utility>
#include <vector>

#include "wsgi/http_test_util.hpp"

namespace {

using namespace gevent::testing;
using http::ChunkedDecoder;
using http::ChunkedStatus;
using http::ParseError;

struct Decoded {
  std::string data;
  std::vector<std::pair<std::string, std::string>> trailers;
  ChunkedStatus status = ChunkedStatus::need_more;
  ParseError error = ParseError::none;
  std::string rest;  // unconsumed input after done / error / the last need_more

  bool operator==(const Decoded&) const = default;
};

// Feeds `pieces` the way a server does: unconsumed bytes, then the next read.
Decoded decode_pieces(const std::vector<std::string_view>& pieces,
                      ChunkedDecoder::Limits limits = {}) {
  ChunkedDecoder decoder(limits);
  Decoded out;
  std::string pending;
  std::size_t total = 0;
  for (auto piece : pieces) total += piece.size();
  GuardedBuffer buffer(total);
  std::size_t next = 0;
  while (next < pieces.size()) {
    pending += pieces[next++];
    for (;;) {
      std::string_view input = buffer.place(pending);
      http::ChunkedStep step = decoder.decode(input);
      EXPECT_LE(step.consumed, input.size());
      if (step.status == ChunkedStatus::data) {
        EXPECT_FALSE(step.data.empty());
        EXPECT_GE(step.data.data(), input.data());
        EXPECT_LE(step.data.data() + step.data.size(), input.data() + step.consumed);
        out.data += step.data;
      } else if (step.status == ChunkedStatus::trailer) {
        out.trailers.emplace_back(step.trailer.name, step.trailer.value);
      }
      pending.erase(0, step.consumed);
      out.status = step.status;
      out.error = step.error;
      if (step.status != ChunkedStatus::data && step.status != ChunkedStatus::trailer) break;
    }
    if (out.status == ChunkedStatus::done || out.status == ChunkedStatus::error) break;
  }
  while (next < pieces.size()) pending += pieces[next++];  // after the body: not the decoder's
  out.rest = pending;
  if (out.status == ChunkedStatus::error) out.rest.clear();  // unspecified after an error
  return out;
}

// The whole input at once, and checks that every split in two, and a byte at a time, agree.
Decoded decode(std::string_view body, ChunkedDecoder::Limits limits = {}) {
  Decoded whole = decode_pieces({body}, limits);
  for (std::size_t k = 0; k <= body.size(); ++k) {
    Decoded split = decode_pieces({body.substr(0, k), body.substr(k)}, limits);
    EXPECT_EQ(split, whole) << "split at " << k;
    if (!(split == whole)) break;
  }
  if (body.size() <= 4096) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < body.size(); ++i) bytes.push_back(body.substr(i, 1));
    EXPECT_EQ(decode_pieces(bytes, limits), whole) << "a byte at a time";
  }
  return whole;
}

ParseError decode_error(std::string_view body, ChunkedDecoder::Limits limits = {}) {
  Decoded d = decode(body, limits);
  EXPECT_EQ(d.status, ChunkedStatus::error) << body;
  return d.error;
}

TEST(HttpChunked, DecodesChunks) {
  Decoded d = decode("5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
  EXPECT_EQ(d.status, ChunkedStatus::done);
  EXPECT_EQ(d.data, "hello, world");
  EXPECT_TRUE(d.trailers.empty());
  EXPECT_EQ(d.rest, "");
}

TEST(HttpChunked, SizesAreHexWithLeadingZerosAllowed) {
  std::string ten = "0123456789";
  EXPECT_EQ(decode("A\r\n" + ten + "\r\n0\r\n\r\n").data, ten);
  EXPECT_EQ(decode("a\r\n" + ten + "\r\n000\r\n\r\n").data, ten);
  EXPECT_EQ(decode("0000000000000000000a\r\n" + ten + "\r\n0\r\n\r\n").data, ten);
  std::string big(0x1f, 'x');
  EXPECT_EQ(decode("1F\r\n" + big + "\r\n0\r\n\r\n").data, big);
}

TEST(HttpChunked, StopsAtTheEndOfTheBody) {
  Decoded d = decode("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n");
  EXPECT_EQ(d.status, ChunkedStatus::done);
  EXPECT_EQ(d.data, "abc");
  EXPECT_EQ(d.rest, "GET / HTTP/1.1\r\n");
  ChunkedDecoder decoder;
  std::string_view body = "0\r\n\r\nnext";
  auto step = decoder.decode(body);
  EXPECT_EQ(step.status, ChunkedStatus::done);
  EXPECT_EQ(step.consumed, 5u);
  step = decoder.decode(body.substr(5));
  EXPECT_EQ(step.status, ChunkedStatus::done);
  EXPECT_EQ(step.consumed, 0u);
  EXPECT_TRUE(decoder.done());
}

TEST(HttpChunked, ExtensionsAreCheckedAndIgnored) {
  for (std::string_view line :
       {"5;a\r\n", "5;a=b\r\n", "5;a=b;c=d\r\n", "5 ;a\r\n", "5\t; a = b\r\n", "5;a=\"q\"\r\n",
        "5;a=\"q \\\"x\\\" \\\\\"\r\n", "5;a=\"\"\r\n", "5;a=\"x\";b\r\n", "5;a=b ;c\r\n",
        "5;a = \"x\" ; b = c\r\n", "5;name=\"\xc3\xa9\"\r\n"}) {
    Decoded d = decode(std::string(line) + "hello\r\n0;last=1\r\n\r\n");
    EXPECT_EQ(d.status, ChunkedStatus::done) << line << ": " << http::reason(d.error);
    EXPECT_EQ(d.data, "hello") << line;
  }
  for (std::string_view line :
       {"5;\r\n", "5 \r\n", "5;a=\r\n", "5;a=\"x\r\n", "5;a b\r\n", "5;=b\r\n", "5;a=b c\r\n",
        "5;a=\"x\"y\r\n", "5;a \r\n", "5;a=(b)\r\n", "5;a=\"\x01\"\r\n", "5;a=\"\\\x01\"\r\n",
        "5 5\r\n"}) {
    EXPECT_EQ(decode_error(std::string(line) + "hello\r\n0\r\n\r\n"),
              ParseError::bad_chunk_extension)
        << line;
  }
}

TEST(HttpChunked, ExtensionBytesAreCappedOverTheWholeBody) {
  ChunkedDecoder::Limits limits;
  limits.max_extension_bytes = 64;
  std::string ext = ";n=" + std::string(40, 'v');  // 43 bytes each
  EXPECT_EQ(decode("1" + ext + "\r\na\r\n0\r\n\r\n", limits).status, ChunkedStatus::done);
  EXPECT_EQ(decode_error("1" + ext + "\r\na\r\n1" + ext + "\r\nb\r\n0\r\n\r\n", limits),
            ParseError::chunk_extensions_too_long);
  // Leading zeros beyond 16 digits count too.
  EXPECT_EQ(decode_error(std::string(100, '0') + "1\r\na\r\n0\r\n\r\n", limits),
            ParseError::chunk_extensions_too_long);
}

TEST(HttpChunked, TrailersAreHandedOut) {
  Decoded d = decode("2\r\nhi\r\n0\r\nX-Checksum: abc123\r\nX-Other:\tv w \r\n\r\nnext");
  EXPECT_EQ(d.status, ChunkedStatus::done);
  EXPECT_EQ(d.data, "hi");
  ASSERT_EQ(d.trailers.size(), 2u);
  EXPECT_EQ(d.trailers[0], std::make_pair(std::string("X-Checksum"), std::string("abc123")));
  EXPECT_EQ(d.trailers[1], std::make_pair(std::string("X-Other"), std::string("v w")));
  EXPECT_EQ(d.rest, "next");
}

TEST(HttpChunked, TrailersFollowTheFieldRules) {
  EXPECT_EQ(decode_error("0\r\nX : y\r\n\r\n"), ParseError::space_before_colon);
  EXPECT_EQ(decode_error("0\r\nX: y\r\n z\r\n\r\n"), ParseError::obs_fold);
  EXPECT_EQ(decode_error("0\r\n y\r\n\r\n"), ParseError::obs_fold);
  EXPECT_EQ(decode_error("0\r\nX: y\n\r\n"), ParseError::bare_lf);
  EXPECT_EQ(decode_error("0\r\nX: y\r\n\n"), ParseError::bare_lf);
  EXPECT_EQ(decode_error("0\r\nX: y\r\n\rz"), ParseError::bare_cr);
  EXPECT_EQ(decode_error("0\r\nnocolon\r\n\r\n"), ParseError::missing_colon);
  EXPECT_EQ(decode_error("0\r\nX: a\x01\r\n\r\n"), ParseError::bad_field_value);
}

TEST(HttpChunked, TrailerSectionIsCapped) {
  ChunkedDecoder::Limits limits;
  limits.max_trailer_section = 32;
  EXPECT_EQ(decode("0\r\nA: 0123456789\r\nB: 0123456789\r\n\r\n", limits).status,
            ChunkedStatus::done);  // 15 + 15 bytes
  EXPECT_EQ(decode_error("0\r\nA: 0123456789\r\nB: 0123456789\r\nC: x\r\n\r\n", limits),
            ParseError::trailer_section_too_large);
  EXPECT_EQ(decode_error("0\r\nA: " + std::string(100, 'v'), limits),
            ParseError::trailer_section_too_large);  // before the line ends
  EXPECT_EQ(decode_error("0\r\nX: " + std::string(20 * 1024, 'v') + "\r\n\r\n"),
            ParseError::trailer_section_too_large);  // the default, 16 KiB
  EXPECT_EQ(http::status_code(ParseError::trailer_section_too_large), 431);
}

TEST(HttpChunked, BadSizesAreRefused) {
  for (std::string_view body :
       {"\r\n", "g\r\n", "-1\r\n", "+1\r\n", ";a\r\n", " 5\r\n", "0x5\r\n", "5\x01\r\n"}) {
    EXPECT_EQ(decode_error(body), ParseError::bad_chunk_size) << body;
  }
  EXPECT_EQ(decode_error("8000000000000000\r\n"), ParseError::chunk_size_overflow);
  EXPECT_EQ(decode_error("ffffffffffffffffff\r\n"), ParseError::chunk_size_overflow);
  EXPECT_EQ(decode_error("00000000000000000000000000010000000000000000\r\n"),
            ParseError::chunk_size_overflow);
  // 2^63-1 is the largest size: its data is awaited.
  Decoded d = decode("7fffffffffffffff\r\nabc");
  EXPECT_EQ(d.status, ChunkedStatus::need_more);
  EXPECT_EQ(d.data, "abc");
}

TEST(HttpChunked, ChunkDataMustEndInCrlf) {
  EXPECT_EQ(decode_error("5\r\nhelloX\r\n0\r\n\r\n"), ParseError::missing_chunk_crlf);
  EXPECT_EQ(decode_error("5\r\nhello\n0\r\n\r\n"), ParseError::missing_chunk_crlf);
  EXPECT_EQ(decode_error("5\r\nhello\rX0\r\n\r\n"), ParseError::missing_chunk_crlf);
  EXPECT_EQ(decode_error("3\r\nhello\r\n0\r\n\r\n"), ParseError::missing_chunk_crlf);
  EXPECT_EQ(decode_error("5\nhello\r\n0\r\n\r\n"), ParseError::bare_lf);
  EXPECT_EQ(decode_error("5\rhello\r\n0\r\n\r\n"), ParseError::bare_cr);
  EXPECT_EQ(decode_error("0\n\r\n"), ParseError::bare_lf);
}

TEST(HttpChunked, ErrorsAreSticky) {
  ChunkedDecoder decoder;
  auto step = decoder.decode("zz\r\n");
  EXPECT_EQ(step.status, ChunkedStatus::error);
  step = decoder.decode("5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(step.status, ChunkedStatus::error);
  EXPECT_EQ(step.error, ParseError::bad_chunk_size);
  EXPECT_EQ(step.consumed, 0u);
}

TEST(HttpChunked, IncompleteBodiesAskForMore) {
  for (std::string_view body : {"", "5", "5\r", "5\r\nhel", "5\r\nhello", "5\r\nhello\r",
                                "5\r\nhello\r\n", "5\r\nhello\r\n0", "5\r\nhello\r\n0\r\n",
                                "5\r\nhello\r\n0\r\n\r", "5\r\nhello\r\n0\r\nX: y"}) {
    Decoded d = decode(body);
    EXPECT_EQ(d.status, ChunkedStatus::need_more) << body;
  }
  ChunkedDecoder decoder;  // a partial trailer line is left for the next call
  auto step = decoder.decode("0\r\nX-Tra");
  EXPECT_EQ(step.status, ChunkedStatus::need_more);
  EXPECT_EQ(step.consumed, 3u);
}

TEST(HttpChunked, CountsBodyBytes) {
  ChunkedDecoder decoder;
  std::string_view body = "4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n";
  while (!decoder.done()) {
    auto step = decoder.decode(body);
    ASSERT_NE(step.status, ChunkedStatus::error);
    body.remove_prefix(step.consumed);
  }
  EXPECT_EQ(decoder.body_size(), 6u);
}

TEST(HttpChunked, EverySplitOfALargerBodyAgrees) {
  std::string body;
  std::string expected;
  for (int i = 1; i <= 40; ++i) {
    std::string chunk(static_cast<std::size_t>(i * 7), static_cast<char>('a' + i % 26));
    char size[32];
    std::snprintf(size, sizeof size, "%x", static_cast<unsigned>(chunk.size()));
    body += std::string(size) + (i % 3 == 0 ? ";i=\"" + std::to_string(i) + "\"" : "") + "\r\n";
    body += chunk + "\r\n";
    expected += chunk;
  }
  body += "0\r\nDigest: sha-256=abc\r\n\r\n";
  Decoded d = decode(body);
  EXPECT_EQ(d.status, ChunkedStatus::done);
  EXPECT_EQ(d.data, expected);
  ASSERT_EQ(d.trailers.size(), 1u);
}

}  // namespace
