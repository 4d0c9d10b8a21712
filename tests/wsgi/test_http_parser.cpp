// parse_request(): the request line, the target's forms, field lines, limits, and the
// contract (prefixes, guard page, pipelining). Semantics are in test_http_semantics.cpp.
// Every parse() below also feeds the input at every split point (http_test_util.hpp).
#include <random>
#include <string>

#include "wsgi/http_chars.hpp"
#include "wsgi/http_test_util.hpp"

namespace {

using namespace gevent::testing;
using http::ParseError;

constexpr std::string_view kWrkRequest = "GET / HTTP/1.1\r\nHost: localhost:8000\r\n\r\n";

TEST(HttpParser, ParsesAWrkRequest) {
  auto p = parse(kWrkRequest);
  ASSERT_TRUE(p->result.complete()) << http::reason(p->result.error);
  EXPECT_EQ(p->result.consumed, kWrkRequest.size());
  EXPECT_EQ(p->req.method, "GET");
  EXPECT_EQ(p->req.target, "/");
  EXPECT_EQ(p->req.form, http::TargetForm::origin);
  EXPECT_EQ(p->req.path, "/");
  EXPECT_EQ(p->req.query, "");
  EXPECT_EQ(p->req.version, http::Version::http11);
  ASSERT_EQ(p->req.headers.size(), 1u);
  EXPECT_EQ(p->req.headers[0].name, "Host");
  EXPECT_EQ(p->req.headers[0].value, "localhost:8000");
  EXPECT_EQ(p->req.host, "localhost:8000");
  EXPECT_TRUE(p->req.keep_alive);
  EXPECT_FALSE(p->req.has_body());
}

TEST(HttpParser, ParsesABrowserRequestWithTwentyFields) {
  std::string request =
      "GET /search/results?q=gevent+cpp&page=2 HTTP/1.1\r\n"
      "Host: www.example.com\r\n"
      "Connection: keep-alive\r\n"
      "Cache-Control: max-age=0\r\n"
      "sec-ch-ua: \"Chromium\";v=\"118\", \"Google Chrome\";v=\"118\"\r\n"
      "sec-ch-ua-mobile: ?0\r\n"
      "sec-ch-ua-platform: \"Linux\"\r\n"
      "Upgrade-Insecure-Requests: 1\r\n"
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n"
      "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
      "Sec-Fetch-Site: same-origin\r\n"
      "Sec-Fetch-Mode: navigate\r\n"
      "Sec-Fetch-User: ?1\r\n"
      "Sec-Fetch-Dest: document\r\n"
      "Referer: https://www.example.com/search\r\n"
      "Accept-Encoding: gzip, deflate, br\r\n"
      "Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n"
      "Cookie: session=0123456789abcdef; theme=dark; consent=yes\r\n"
      "If-None-Match: \"5f3b2-1a2b3c\"\r\n"
      "If-Modified-Since: Tue, 10 Oct 2023 08:00:00 GMT\r\n"
      "DNT:\t1\t\r\n"
      "\r\n";
  auto p = parse(request);
  ASSERT_TRUE(p->result.complete()) << http::reason(p->result.error);
  EXPECT_EQ(p->result.consumed, request.size());
  EXPECT_EQ(p->req.headers.size(), 20u);
  EXPECT_EQ(p->req.path, "/search/results");
  EXPECT_EQ(p->req.query, "q=gevent+cpp&page=2");
  EXPECT_EQ(p->header("dnt"), "1");  // OWS, tabs included, trimmed on both sides
  EXPECT_EQ(p->header("sec-ch-ua-mobile"), "?0");
  EXPECT_EQ(p->header("Cookie"), "session=0123456789abcdef; theme=dark; consent=yes");
}

TEST(HttpParser, SplitsPathAndQuery) {
  auto p = parse("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(p->req.path, "/a/b");
  EXPECT_EQ(p->req.query, "x=1&y=2");
  p = parse("GET /p? HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(p->req.path, "/p");
  EXPECT_EQ(p->req.query, "");
  p = parse("GET /p?a?b=/c HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(p->req.query, "a?b=/c");
  // Raw bytes browsers and curl leave unescaped in queries are accepted.
  p = parse("GET /p?x={|}^`\"<>\\ HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(p->req.query, "x={|}^`\"<>\\");
}

TEST(HttpParser, AcceptsAbsoluteFormAndTakesItsAuthorityAsHost) {
  auto p = parse("GET http://example.com:8080/x/y?z=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_TRUE(p->result.complete());
  EXPECT_EQ(p->req.form, http::TargetForm::absolute);
  EXPECT_EQ(p->req.scheme, "http");
  EXPECT_EQ(p->req.authority, "example.com:8080");
  EXPECT_EQ(p->req.path, "/x/y");
  EXPECT_EQ(p->req.query, "z=1");
  EXPECT_EQ(p->req.host, "example.com:8080");  // RFC 9112 3.2.2: Host is ignored
  p = parse("GET HTTPS://[::1]:8443?q HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(p->result.complete());
  EXPECT_EQ(p->req.authority, "[::1]:8443");
  EXPECT_EQ(p->req.path, "");  // empty path: "/"
  EXPECT_EQ(p->req.query, "q");
  EXPECT_EQ(parse_error("GET ftp://example.com/ HTTP/1.1\r\nHost: h\r\n\r\n"),
            ParseError::bad_target);
  EXPECT_EQ(parse_error("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
  EXPECT_EQ(parse_error("GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
  EXPECT_EQ(parse_error("GET http:/h/ HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
}

TEST(HttpParser, AsteriskFormOnlyForOptionsAuthorityFormOnlyForConnect) {
  auto p = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(p->result.complete());
  EXPECT_EQ(p->req.form, http::TargetForm::asterisk);
  EXPECT_EQ(p->req.path, "*");
  EXPECT_EQ(parse_error("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
  p = parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  ASSERT_TRUE(p->result.complete());
  EXPECT_EQ(p->req.form, http::TargetForm::authority);
  EXPECT_EQ(p->req.authority, "example.com:443");
  EXPECT_EQ(parse_error("CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
  EXPECT_EQ(parse_error("CONNECT example.com HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
  EXPECT_EQ(parse_error("CONNECT [::1] HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
  EXPECT_EQ(parse_error("CONNECT h: HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
  EXPECT_TRUE(parse("CONNECT [::1]:443 HTTP/1.1\r\nHost: h\r\n\r\n")->result.complete());
  EXPECT_EQ(parse_error("GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
}

TEST(HttpParser, RefusesGarbageRequestLines) {
  for (std::string_view line :
       {"GARBAGE\r\n", "GET  / HTTP/1.1\r\n", "GET / HTTP/1.1 \r\n", " GET / HTTP/1.1\r\n",
        "GET /\r\n", "GET\t/ HTTP/1.1\r\n", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"}) {
    std::string request = std::string(line) + "Host: h\r\n\r\n";
    EXPECT_EQ(parse_error(request), ParseError::bad_request_line) << line;
  }
  EXPECT_EQ(parse_error("GET / \r\nHost: h\r\n\r\n"), ParseError::bad_version);
  EXPECT_EQ(parse_error("GE(T / HTTP/1.1\r\n\r\n"), ParseError::bad_method);
  EXPECT_EQ(parse_error("G\x01T / HTTP/1.1\r\n\r\n"), ParseError::bad_method);
  EXPECT_EQ(http::status_code(ParseError::bad_request_line), 400);
}

TEST(HttpParser, RefusesBadTargetBytes) {
  for (std::string_view target : {"/a\x01z", "/a\x7fz", "/caf\xc3\xa9", "relative"}) {
    std::string request = "GET " + std::string(target) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    EXPECT_EQ(parse_error(request), ParseError::bad_target) << target;
  }
  std::string nul = "GET /a";
  nul += '\0';
  nul += "z HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(parse_error(nul), ParseError::bad_target);
}

TEST(HttpParser, VersionIsStrictAndOnlyMajorOneIsSupported) {
  auto version_of = [](std::string_view v) {
    auto p = parse("GET / " + std::string(v) + "\r\nHost: h\r\n\r\n");
    return p->result.complete() ? ParseError::none : p->result.error;
  };
  EXPECT_EQ(version_of("HTTP/1.1"), ParseError::none);
  EXPECT_EQ(version_of("HTTP/1.0"), ParseError::none);
  EXPECT_EQ(version_of("HTTP/1.2"), ParseError::none);  // read as 1.1 (RFC 9110 2.5)
  EXPECT_EQ(parse("GET / HTTP/1.7\r\nHost: h\r\n\r\n")->req.version, http::Version::http11);
  EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n")->req.version, http::Version::http10);
  for (std::string_view v : {"HTTP/2.0", "HTTP/0.9", "HTTP/3.0", "HTTP/9.9"})
    EXPECT_EQ(version_of(v), ParseError::unsupported_version) << v;
  for (std::string_view v : {"http/1.1", "HTTP/1", "HTTP/11.1", "HTTP/1.10", "HTTP 1.1", "HTTP/1.x",
                             "HTTPS/1.1", "HTTP/a.1"})
    EXPECT_EQ(version_of(v), ParseError::bad_version) << v;
  EXPECT_EQ(http::status_code(ParseError::unsupported_version), 505);
  EXPECT_EQ(http::status_code(ParseError::bad_version), 400);
}

TEST(HttpParser, LinesEndInCrlfOnly) {
  EXPECT_EQ(parse_error("GET / HTTP/1.1\nHost: h\r\n\r\n"), ParseError::bare_lf);
  EXPECT_EQ(parse_error("GET / HTTP/1.1\r\nHost: h\n\r\n"), ParseError::bare_lf);
  EXPECT_EQ(parse_error("GET / HTTP/1.1\r\nHost: h\r\n\n"), ParseError::bare_lf);
  EXPECT_EQ(parse_error("GET / HTTP/1.1\rHost: h\r\n\r\n"), ParseError::bare_cr);
  EXPECT_EQ(parse_error("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"), ParseError::bare_cr);
  EXPECT_EQ(parse_error("GET / HTTP/1.1\r\nHost: h\r\n\rx"), ParseError::bare_cr);
  EXPECT_EQ(parse_error("GET / HTTP/1.1\r\nX: a\rb\r\nHost: h\r\n\r\n"), ParseError::bare_cr);
}

TEST(HttpParser, SkipsLeadingEmptyLinesUpToALimit) {
  std::string request = "\r\n\r\n" + std::string(kWrkRequest);
  auto p = parse(request);
  ASSERT_TRUE(p->result.complete());
  EXPECT_EQ(p->result.consumed, request.size());
  EXPECT_EQ(p->req.method, "GET");
  std::string sixteen;
  for (int i = 0; i < 16; ++i) sixteen += "\r\n";
  EXPECT_TRUE(parse(sixteen + std::string(kWrkRequest))->result.complete());
  EXPECT_EQ(parse_error(sixteen + "\r\n" + std::string(kWrkRequest)),
            ParseError::too_many_empty_lines);
  EXPECT_EQ(parse_error("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bare_lf);
  EXPECT_EQ(parse_error("\r\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bare_cr);
}

TEST(HttpParser, FieldNamesAreTokensWithTheColonRightAfter) {
  EXPECT_EQ(parse_error(get_with("Content-Type : text/plain\r\n")), ParseError::space_before_colon);
  EXPECT_EQ(parse_error(get_with("Content-Type\t: text/plain\r\n")),
            ParseError::space_before_colon);
  EXPECT_EQ(parse_error(get_with("NoColonHere\r\n")), ParseError::missing_colon);
  EXPECT_EQ(parse_error(get_with(": empty name\r\n")), ParseError::bad_field_name);
  EXPECT_EQ(parse_error(get_with("Bad(Name): x\r\n")), ParseError::bad_field_name);
  EXPECT_EQ(parse_error(get_with("Bad Name: x\r\n")), ParseError::space_before_colon);
  EXPECT_EQ(parse_error(get_with("Caf\xc3\xa9: x\r\n")), ParseError::bad_field_name);
  std::string nul_name = "Na";
  nul_name += '\0';
  nul_name += "me: x\r\n";
  EXPECT_EQ(parse_error(get_with(nul_name)), ParseError::bad_field_name);
}

TEST(HttpParser, FieldValuesRefuseControlBytes) {
  for (char c : {'\0', '\x01', '\x08', '\x0b', '\x0c', '\x1f', '\x7f'}) {
    std::string field = "X-Value: a";
    field += c;
    field += "b\r\n";
    EXPECT_EQ(parse_error(get_with(field)), ParseError::bad_field_value) << int(c);
  }
  // A long value puts the control byte in the vector loop rather than the tail.
  std::string longer = "X-Value: " + std::string(40, 'v') + '\x01' + std::string(40, 'v') + "\r\n";
  EXPECT_EQ(parse_error(get_with(longer)), ParseError::bad_field_value);
  // HTAB, SP and obs-text (bytes >= 0x80) are allowed inside a value; empty values too.
  auto p = parse(get_with("X-Text: a\tb c \xc3\xa9\xff\r\nX-Empty:\r\nX-Blank: \t \r\n"));
  ASSERT_TRUE(p->result.complete()) << http::reason(p->result.error);
  EXPECT_EQ(p->header("x-text"), "a\tb c \xc3\xa9\xff");
  EXPECT_EQ(p->header("x-empty"), "");
  EXPECT_EQ(p->header("x-blank"), "");
}

TEST(HttpParser, RefusesLineFolding) {
  EXPECT_EQ(parse_error(get_with("X-Folded: a\r\n b\r\n")), ParseError::obs_fold);
  EXPECT_EQ(parse_error(get_with("X-Folded: a\r\n\tb\r\n")), ParseError::obs_fold);
  // Whitespace between the request line and the first field (RFC 9112 2.2).
  EXPECT_EQ(parse_error("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), ParseError::obs_fold);
}

TEST(HttpParser, AllowsOneHundredFieldsAndRefusesMore) {
  std::string fields;
  for (int i = 0; i < 99; ++i) fields += "X-Field-" + std::to_string(i) + ": v\r\n";
  auto p = parse(get_with(fields));
  ASSERT_TRUE(p->result.complete());
  EXPECT_EQ(p->req.headers.size(), 100u);
  EXPECT_EQ(parse_error(get_with(fields + "X-One-Too-Many: v\r\n")), ParseError::too_many_fields);
  EXPECT_EQ(http::status_code(ParseError::too_many_fields), 431);
  // A caller's array sets the bound.
  std::array<http::Header, 2> two;
  http::Request req;
  auto r = http::parse_request(get_with("A: 1\r\nB: 2\r\n"), two, req);
  EXPECT_EQ(r.error, ParseError::too_many_fields);
  r = http::parse_request(get_with("A: 1\r\n"), two, req);
  EXPECT_TRUE(r.complete());
}

TEST(HttpParser, FieldSectionUpTo64KiB) {
  const std::string head = "GET / HTTP/1.1\r\n";
  const std::string host = "Host: h\r\n";
  // Field lines + the final CRLF = exactly 64 KiB.
  std::size_t value_size = 64 * 1024 - host.size() - 2 - std::string("X: \r\n").size();
  std::string request = head + host + "X: " + std::string(value_size, 'v') + "\r\n\r\n";
  auto p = parse(request);
  ASSERT_TRUE(p->result.complete()) << http::reason(p->result.error);
  EXPECT_EQ(p->result.consumed, request.size());
  std::string over = head + host + "X: " + std::string(value_size + 1, 'v') + "\r\n\r\n";
  EXPECT_EQ(parse_error(over), ParseError::field_section_too_large);
  // Refused as soon as the limit is crossed, before the head ends.
  std::string unended = head + host + "X: " + std::string(70 * 1024, 'v');
  EXPECT_EQ(parse_error(unended), ParseError::field_section_too_large);
  http::Limits small;
  small.max_field_section = 16;
  EXPECT_EQ(parse_error(get_with("X-Long: 0123456789\r\n"), small),
            ParseError::field_section_too_large);
}

TEST(HttpParser, TargetUpTo8KiB) {
  std::string path = "/" + std::string(8 * 1024 - 1, 'a');
  auto p = parse("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(p->result.complete());
  EXPECT_EQ(p->req.path.size(), 8u * 1024);
  EXPECT_EQ(parse_error("GET " + path + "a HTTP/1.1\r\nHost: h\r\n\r\n"),
            ParseError::target_too_long);
  // Before the target ends.
  EXPECT_EQ(parse_error("GET " + path + "a"), ParseError::target_too_long);
  EXPECT_EQ(http::status_code(ParseError::target_too_long), 414);
}

TEST(HttpParser, MethodIsACaseSensitiveTokenOfBoundedLength) {
  EXPECT_EQ(parse_error("M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n"), ParseError::bad_target);
  auto p = parse("get / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(p->req.method, "get");
  std::string long_method(33, 'X');
  EXPECT_EQ(parse_error(long_method + " / HTTP/1.1\r\n\r\n"), ParseError::method_too_long);
  EXPECT_EQ(parse_error(long_method), ParseError::method_too_long);
  EXPECT_EQ(http::status_code(ParseError::method_too_long), 501);
  EXPECT_TRUE(parse(std::string(32, 'X') + " / HTTP/1.1\r\nHost: h\r\n\r\n")->result.complete());
}

TEST(HttpParser, StopsAtTheEndOfTheHeadForPipelinedRequests) {
  std::string two = "GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n";
  auto first = parse(two);
  ASSERT_TRUE(first->result.complete());
  EXPECT_EQ(first->req.path, "/one");
  auto second = parse(std::string_view(two).substr(first->result.consumed));
  ASSERT_TRUE(second->result.complete());
  EXPECT_EQ(second->req.path, "/two");
  EXPECT_EQ(first->result.consumed + second->result.consumed, two.size());
}

TEST(HttpParser, EveryPrefixOfAHeadIsIncomplete) {
  std::string request = "POST /upload?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  std::size_t head = request.size() - 5;
  GuardedBuffer buffer(request.size());
  Parsed part;
  for (std::size_t k = 0; k <= request.size(); ++k) {
    parse_into(buffer, std::string_view(request).substr(0, k), part, {});
    if (k < head) {
      EXPECT_TRUE(part.result.incomplete()) << k;
    } else {
      ASSERT_TRUE(part.result.complete()) << k;
      EXPECT_EQ(part.result.consumed, head);
      EXPECT_EQ(part.req.content_length, 5u);
    }
  }
}

TEST(HttpParser, NeverReadsPastTheInput) {
  // Inputs whose last byte is where a careless parser would look one further.
  for (std::string_view input :
       {"G", "GET", "GET ", "GET /", "GET / ", "GET / HTTP/1.", "GET / HTTP/1.1",
        "GET / HTTP/1.1\r", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nH", "GET / HTTP/1.1\r\nHost:",
        "GET / HTTP/1.1\r\nHost: ", "GET / HTTP/1.1\r\nHost: 0123456789abcdef0123",
        "GET / HTTP/1.1\r\nHost: h\r", "GET / HTTP/1.1\r\nHost: h\r\n\r", "\r", "\r\n"}) {
    auto p = parse(input);
    EXPECT_TRUE(p->result.incomplete()) << input;
  }
  EXPECT_TRUE(parse("")->result.incomplete());
}

TEST(HttpParser, VectorScansAgreeWithByteScans) {
  namespace detail = gevent::pywsgi::http::detail;
  std::mt19937 random(12345);
  std::string bytes(256, 'a');
  GuardedBuffer buffer(bytes.size());
  for (int round = 0; round < 2000; ++round) {
    for (char& c : bytes) c = static_cast<char>('!' + random() % 90);
    for (int i = 0; i < 3; ++i)  // a few stop bytes, at random places, of every kind
      bytes[random() % bytes.size()] = static_cast<char>(random() % 256);
    std::string_view placed = buffer.place(bytes);
    std::size_t from = random() % placed.size();
    const char* p = placed.data() + from;
    const char* end = placed.data() + placed.size();
    ASSERT_EQ(detail::find_value_stop(p, end), detail::find_value_stop_scalar(p, end));
    ASSERT_EQ(detail::find_target_stop(p, end), detail::find_target_stop_scalar(p, end));
    ASSERT_EQ(detail::find_name_stop(p, end), detail::find_name_stop_scalar(p, end));
  }
  // Names: mostly [A-Za-z0-9-], with the other tchars and stop bytes now and then.
  constexpr std::string_view name_bytes =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-------";
  for (int round = 0; round < 20000; ++round) {
    for (char& c : bytes) c = name_bytes[random() % name_bytes.size()];
    for (int i = 0; i < 2; ++i) bytes[random() % bytes.size()] = static_cast<char>(random() % 256);
    std::string_view placed = buffer.place(bytes);
    const char* p = placed.data() + random() % placed.size();
    const char* end = placed.data() + placed.size();
    ASSERT_EQ(detail::find_name_stop(p, end), detail::find_name_stop_scalar(p, end));
  }
}

TEST(HttpParser, TheGuardPageFaults) {
  // What makes NeverReadsPastTheInput and every parse() above meaningful.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  GuardedBuffer buffer(16);
  std::string_view placed = buffer.place("GET");
  EXPECT_EQ(placed[2], 'T');
  EXPECT_DEATH(
      {
        volatile char past = placed.data()[placed.size()];
        (void)past;
      },
      "");
}

TEST(HttpParser, EveryErrorHasAStatusAndAReason) {
  for (int e = 1; e <= static_cast<int>(ParseError::trailer_section_too_large); ++e) {
    auto error = static_cast<ParseError>(e);
    int status = http::status_code(error);
    EXPECT_TRUE(status >= 400 && status < 600) << e;
    EXPECT_FALSE(http::reason(error).empty()) << e;
    EXPECT_NE(http::reason(error), "unknown parse error") << e;
  }
}

}  // namespace
