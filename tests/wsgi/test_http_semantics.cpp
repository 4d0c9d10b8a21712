// parse_request()'s decisions: Host, Content-Length, Transfer-Encoding, Connection, Expect.
// Every parse() also feeds the input at every split point (http_test_util.hpp).
#include <string>

#include "wsgi/http_test_util.hpp"

namespace {

using namespace gevent::testing;
using http::ParseError;

std::string http10_with(std::string_view fields) {
  return "GET / HTTP/1.0\r\n" + std::string(fields) + "\r\n";
}

TEST(HttpSemantics, Http11NeedsExactlyOneValidHost) {
  EXPECT_EQ(parse_error("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), ParseError::missing_host);
  EXPECT_EQ(parse_error(get_with("Host: example.com\r\n")), ParseError::duplicate_host);
  EXPECT_EQ(parse_error(get_with("HOST: other.example\r\n")), ParseError::duplicate_host);
  EXPECT_EQ(parse_error(http10_with("Host: a\r\nHost: b\r\n")), ParseError::duplicate_host);
  for (std::string_view host : {"a b", "h:80x", "h:8:0", "[::1", "[]", "h/x", "user@h", "h\""}) {
    std::string request = "GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
    EXPECT_EQ(parse_error(request), ParseError::bad_host) << host;
  }
  for (std::string_view host : {"example.com", "example.com:8080", "127.0.0.1:80", "[::1]:8000",
                                "[fe80::1%25eth0]", "xn--bcher-kva.example", "h:", ""}) {
    auto p = parse("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n");
    ASSERT_TRUE(p->result.complete()) << host;
    EXPECT_TRUE(p->req.has_host);
    EXPECT_EQ(p->req.host, host);
  }
  auto p = parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(p->result.complete());
  EXPECT_FALSE(p->req.has_host);
}

TEST(HttpSemantics, ContentLength) {
  auto p = parse(get_with("Content-Length: 42\r\n"));
  ASSERT_TRUE(p->result.complete());
  EXPECT_EQ(p->req.content_length, 42u);
  EXPECT_TRUE(p->req.has_body());
  EXPECT_FALSE(p->req.chunked);
  p = parse(get_with("Content-Length: 0\r\n"));
  EXPECT_EQ(p->req.content_length, 0u);
  EXPECT_FALSE(p->req.has_body());
  // RFC 9110 8.6: identical repeated values may be taken as one.
  p = parse(get_with("Content-Length: 42, 42\r\n"));
  EXPECT_EQ(p->req.content_length, 42u);
  p = parse(get_with("content-length: 7\r\nCONTENT-LENGTH: 7\r\n"));
  EXPECT_EQ(p->req.content_length, 7u);
  p = parse(get_with("Content-Length: 9223372036854775807\r\n"));
  EXPECT_EQ(p->req.content_length, 9223372036854775807u);
  p = parse(get_with(""));
  EXPECT_FALSE(p->req.content_length.has_value());
}

TEST(HttpSemantics, InvalidContentLengthIsRefused) {
  for (std::string_view value :
       {"-1", "+1", "0x10", "1.0", "1e3", "", "42, 43", "42,", "4 2", ",", "abc", "\xd9\xa1"}) {
    std::string field = "Content-Length: " + std::string(value) + "\r\n";
    EXPECT_EQ(parse_error(get_with(field)), ParseError::bad_content_length) << value;
  }
  EXPECT_EQ(parse_error(get_with("Content-Length: 42\r\nContent-Length: 43\r\n")),
            ParseError::bad_content_length);
  EXPECT_EQ(parse_error(get_with("Content-Length: 9223372036854775808\r\n")),
            ParseError::content_length_too_large);
  EXPECT_EQ(parse_error(get_with("Content-Length: 99999999999999999999999999\r\n")),
            ParseError::content_length_too_large);
  EXPECT_EQ(http::status_code(ParseError::bad_content_length), 400);
  EXPECT_EQ(http::status_code(ParseError::content_length_too_large), 413);
}

TEST(HttpSemantics, TransferEncodingMustEndInChunked) {
  for (std::string_view te : {"chunked", "Chunked", "CHUNKED", " chunked ", ", chunked,"}) {
    auto p = parse(get_with("Transfer-Encoding: " + std::string(te) + "\r\n"));
    ASSERT_TRUE(p->result.complete()) << te;
    EXPECT_TRUE(p->req.chunked);
    EXPECT_TRUE(p->req.has_body());
    EXPECT_FALSE(p->req.content_length.has_value());
  }
  for (std::string_view te : {"gzip", "chunked, gzip", "identity", "", "chunked, chunked",
                              "chunked;x=1", "chunked x", "\"chunked\"", "chunk"}) {
    EXPECT_EQ(parse_error(get_with("Transfer-Encoding: " + std::string(te) + "\r\n")),
              ParseError::bad_transfer_encoding)
        << te;
  }
  EXPECT_EQ(parse_error(get_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
            ParseError::bad_transfer_encoding);
  EXPECT_EQ(parse_error(get_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")),
            ParseError::bad_transfer_encoding);
  // Codings before chunked are understood but not implemented.
  for (std::string_view te : {"gzip, chunked", "deflate,chunked", "x-custom;q=1, chunked"}) {
    EXPECT_EQ(parse_error(get_with("Transfer-Encoding: " + std::string(te) + "\r\n")),
              ParseError::unknown_transfer_coding)
        << te;
  }
  EXPECT_EQ(parse_error(get_with("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")),
            ParseError::unknown_transfer_coding);
  EXPECT_EQ(http::status_code(ParseError::unknown_transfer_coding), 501);
}

TEST(HttpSemantics, TransferEncodingWithContentLengthOrInHttp10IsRefused) {
  EXPECT_EQ(parse_error(get_with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")),
            ParseError::transfer_encoding_with_content_length);
  EXPECT_EQ(parse_error(get_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")),
            ParseError::transfer_encoding_with_content_length);
  EXPECT_EQ(parse_error(http10_with("Transfer-Encoding: chunked\r\n")),
            ParseError::transfer_encoding_in_http10);
}

TEST(HttpSemantics, PersistencePerVersionAndConnection) {
  EXPECT_TRUE(parse(get_with(""))->req.keep_alive);
  EXPECT_FALSE(parse(get_with("Connection: close\r\n"))->req.keep_alive);
  EXPECT_FALSE(parse(get_with("Connection: Keep-Alive, CLOSE\r\n"))->req.keep_alive);
  EXPECT_FALSE(parse(get_with("Connection: upgrade\r\nConnection: close\r\n"))->req.keep_alive);
  EXPECT_TRUE(parse(get_with("Connection: upgrade\r\n"))->req.keep_alive);
  EXPECT_FALSE(parse(http10_with(""))->req.keep_alive);
  EXPECT_TRUE(parse(http10_with("Connection: keep-alive\r\n"))->req.keep_alive);
  EXPECT_TRUE(parse(http10_with("connection: TE, Keep-Alive\r\n"))->req.keep_alive);
  EXPECT_FALSE(parse(http10_with("Connection: keep-alive, close\r\n"))->req.keep_alive);
  EXPECT_FALSE(parse(http10_with("Connection: keep-alive-ish\r\n"))->req.keep_alive);
}

TEST(HttpSemantics, Expect100Continue) {
  auto p = parse(get_with("Expect: 100-continue\r\nContent-Length: 10\r\n"));
  ASSERT_TRUE(p->result.complete());
  EXPECT_TRUE(p->req.expect_continue);
  EXPECT_TRUE(parse(get_with("Expect: 100-Continue\r\n"))->req.expect_continue);
  EXPECT_FALSE(parse(get_with(""))->req.expect_continue);
  EXPECT_EQ(parse_error(get_with("Expect: 200-ok\r\n")), ParseError::unsupported_expectation);
  EXPECT_EQ(parse_error(get_with("Expect: 100-continue, foo\r\n")),
            ParseError::unsupported_expectation);
  EXPECT_EQ(http::status_code(ParseError::unsupported_expectation), 417);
  // RFC 9110 10.1.1: HTTP/1.0 ignores Expect.
  p = parse(http10_with("Expect: 100-continue\r\nContent-Length: 1\r\n"));
  ASSERT_TRUE(p->result.complete());
  EXPECT_FALSE(p->req.expect_continue);
  EXPECT_TRUE(parse(http10_with("Expect: whatever\r\n"))->result.complete());
}

TEST(HttpSemantics, FieldsKeepTheirOrderAndSpelling) {
  auto p = parse(get_with("X-B: 2\r\nx-a: 1\r\nX-B: 3\r\n"));
  ASSERT_EQ(p->req.headers.size(), 4u);
  EXPECT_EQ(p->req.headers[1].name, "X-B");
  EXPECT_EQ(p->req.headers[2].name, "x-a");
  EXPECT_EQ(p->req.headers[3].value, "3");
}

TEST(HttpSemantics, CaseInsensitiveEquality) {
  EXPECT_TRUE(http::iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(http::iequals("Content-Length", "Content_Length"));
  EXPECT_FALSE(http::iequals("a", "ab"));
  EXPECT_FALSE(http::iequals("@", "`"));  // 0x40 and 0x60 differ only in the case bit
  EXPECT_FALSE(http::iequals("[", "{"));
}

}  // namespace
