// WSGIServer over real loopback sockets, with a raw client that sends exact bytes: the
// application interface (environ, input, start_response, write, the four body shapes,
// middleware) and the connection rules (keep-alive, pipelining, 100-continue, errors).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <vector>

#include "gevent/gevent.hpp"
#include "gevent/pywsgi.hpp"
#include "support/harness.hpp"
#include "support/tls_certs.hpp"
#include "wsgi/http_client.hpp"
#include "wsgi/wsgi_test.hpp"

using namespace std::chrono_literals;
using gevent::pywsgi::Body;
using gevent::pywsgi::Environ;
using gevent::pywsgi::Headers;
using gevent::pywsgi::StartResponse;
using gevent::pywsgi::WSGIServer;
using gevent::testing::hello;
using gevent::testing::HttpClient;
using gevent::testing::HttpResponse;
using gevent::testing::kGet;
using gevent::testing::WsgiTest;

namespace {

TEST_F(WsgiTest, EnvironHasTheCgiKeysAndTheHeaders) {
  std::map<std::string, std::string> seen;
  options_.environ = {{"app.name", "test"}, {"REQUEST_METHOD", "shadowed by the request"}};
  serve([&](Environ& env, StartResponse& start_response) {
    env.for_each([&](std::string_view k, std::string_view v) { seen[std::string(k)] = v; });
    return hello(env, start_response);
  });
  auto c = client();
  c.send(
      "POST /a%20b/%7e%zz?x=1&y=%20 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: raw\r\n"
      "X-Dup: 1\r\nx-dup: 2\r\nX_Under: spoof\r\nContent-Type: text/plain\r\n"
      "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(seen["REQUEST_METHOD"], "POST");
  EXPECT_EQ(seen["SCRIPT_NAME"], "");
  EXPECT_EQ(seen["PATH_INFO"], "/a b/~%zz");
  EXPECT_EQ(seen["QUERY_STRING"], "x=1&y=%20");
  EXPECT_EQ(seen["REQUEST_URI"], "/a%20b/%7e%zz?x=1&y=%20");
  EXPECT_EQ(seen["SERVER_PROTOCOL"], "HTTP/1.1");
  EXPECT_EQ(seen["SERVER_NAME"], "127.0.0.1");
  EXPECT_EQ(seen["SERVER_PORT"], std::to_string(server_->server_address().port()));
  EXPECT_EQ(seen["REMOTE_ADDR"], "127.0.0.1");
  EXPECT_EQ(seen["REMOTE_PORT"], std::to_string(c.socket().getsockname().port()));
  EXPECT_EQ(seen["HTTP_HOST"], "example.test");
  EXPECT_EQ(seen["HTTP_USER_AGENT"], "raw");
  EXPECT_EQ(seen["HTTP_X_DUP"], "1,2");
  EXPECT_EQ(seen.count("HTTP_X_UNDER"), 0u);
  EXPECT_EQ(seen["CONTENT_TYPE"], "text/plain");
  EXPECT_EQ(seen["CONTENT_LENGTH"], "0");
  EXPECT_EQ(seen.count("HTTP_CONTENT_TYPE"), 0u);
  EXPECT_EQ(seen["wsgi.url_scheme"], "http");
  EXPECT_EQ(seen["wsgi.input_terminated"], "1");
  EXPECT_EQ(seen["wsgi.version"], "1.0");
  EXPECT_EQ(seen["wsgi.multithread"], "0");
  EXPECT_EQ(seen["wsgi.multiprocess"], "0");
  EXPECT_EQ(seen["wsgi.run_once"], "0");
  EXPECT_EQ(seen["app.name"], "test");
}

TEST_F(WsgiTest, WsgiErrorsWritesToTheErrorLogAndMultithreadFollowsReusePort) {
  options_.reuse_port = true;  // what ServerThreads asks of its servers
  std::string multithread;
  serve([&](Environ& env, StartResponse& start_response) {
    env.errors() << "note from the application\n";
    multithread = env["wsgi.multithread"];
    return hello(env, start_response);
  });
  auto c = client();
  c.send(kGet);
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(multithread, "1");
  EXPECT_NE(error_log_.str().find("note from the application\n"), std::string::npos);
}

TEST_F(WsgiTest, WsgiErrorsWithoutAnErrorLogDropsWhatItIsGivenAndStaysGood) {
  options_.error_log = nullptr;
  std::vector<bool> good;
  serve([&](Environ& env, StartResponse& start_response) {
    good.push_back(static_cast<bool>(env.errors() << "nobody reads this " << 42 << std::endl));
    return hello(env, start_response);
  });
  auto c = client();
  testing::internal::CaptureStderr();
  for (int i = 0; i < 2; ++i) {
    c.send(kGet);
    EXPECT_EQ(c.read_response().body, "Hello, World!");
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr().find("nobody reads this"), std::string::npos);
  EXPECT_EQ(good, (std::vector<bool>{true, true}));
}

TEST_F(WsgiTest, ContentKeysOnlyWhenSentAndMiddlewareKeysOverride) {
  std::optional<std::string_view> length, type;
  std::string remote;
  serve([&](Environ& env, StartResponse& start_response) {
    length = env.get("CONTENT_LENGTH");
    type = env.get("CONTENT_TYPE");
    env.set("REMOTE_ADDR", "203.0.113.9");  // what a proxy-fix middleware does
    remote = env["REMOTE_ADDR"];
    return hello(env, start_response);
  });
  auto c = client();
  c.send(kGet);
  c.read_response();
  EXPECT_FALSE(length);
  EXPECT_FALSE(type);
  EXPECT_EQ(remote, "203.0.113.9");
}

// Middleware: a function from application to application, editing the response headers
// through a wrapped start_response and the environ through set().
gevent::pywsgi::Application tagged(gevent::pywsgi::Application inner) {
  return [inner](Environ& env, StartResponse& start_response) {
    env.set("tag.seen", "yes");
    auto add_tag = StartResponse::wrap(
        start_response,
        [](StartResponse & next, std::string_view status, Headers headers,
           std::exception_ptr exc) -> auto& {
          std::vector<gevent::pywsgi::HeaderLine> more(headers.begin(), headers.end());
          more.push_back({"X-Tag", "middleware"});
          return next(status, more, std::move(exc));
        });
    return inner(env, add_tag);
  };
}

TEST_F(WsgiTest, MiddlewareComposes) {
  std::string seen;
  serve(tagged([&](Environ& env, StartResponse& start_response) {
    seen = env["tag.seen"];
    return hello(env, start_response);
  }));
  auto c = client();
  c.send(kGet);
  const HttpResponse r = c.read_response();
  EXPECT_EQ(r.header("X-Tag"), "middleware");
  EXPECT_EQ(r.body, "Hello, World!");
  EXPECT_EQ(seen, "yes");
}

TEST_F(WsgiTest, ListBodyGetsOneContentLength) {
  serve([](Environ&, StartResponse& start_response) {
    start_response("200 OK", {});
    return std::vector<std::string>{"one ", "", "two ", "three"};
  });
  auto c = client();
  c.send(kGet);
  const HttpResponse r = c.read_response();
  EXPECT_EQ(r.header("Content-Length"), "13");
  EXPECT_EQ(r.body, "one two three");
  EXPECT_FALSE(r.chunked);
  EXPECT_TRUE(r.has("Date"));
  EXPECT_EQ(r.header("Server"), "gevent-cpp/0.1");
}

TEST_F(WsgiTest, WriteCallableIsChunkedOn11AndClosesOn10) {
  serve([](Environ&, StartResponse& start_response) {
    auto& write = start_response("200 OK", {{"Content-Type", "text/plain"}});
    write("pushed ");
    write("");  // an empty write ends nothing
    write("then ");
    return "returned";
  });
  auto c11 = client();
  c11.send(kGet);
  HttpResponse r = c11.read_response();
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.body, "pushed then returned");
  c11.send(kGet);  // still usable
  EXPECT_EQ(c11.read_response().body, "pushed then returned");

  auto c10 = client();
  c10.send("GET / HTTP/1.0\r\n\r\n");
  r = c10.read_response();
  EXPECT_FALSE(r.has("Content-Length"));
  EXPECT_FALSE(r.chunked);
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_EQ(r.body, "pushed then returned");
}

// Pieces "abc", "c", "abc"; with ?length=N the application declares Content-Length N.
Body pieces(Environ& env, StartResponse& start_response) {
  const std::string_view query = env.query_string();
  if (query.starts_with("length="))
    start_response("200 OK", {{"Content-Length", query.substr(7)}});
  else
    start_response("200 OK", {});
  return Body::generator([i = 0]() mutable -> std::optional<std::string> {
    if (i == 3) return std::nullopt;
    return i++ == 1 ? "c" : "abc";
  });
}

TEST_F(WsgiTest, GeneratorBodyIsChunkedUnlessTheApplicationGaveALength) {
  serve(pieces);
  auto c = client();
  c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /?length=7 HTTP/1.1\r\nHost: t\r\n\r\n");
  HttpResponse r = c.read_response();
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.body, "abccabc");
  r = c.read_response();
  EXPECT_FALSE(r.chunked);
  EXPECT_EQ(r.body, "abccabc");
  c.send(kGet);
  EXPECT_EQ(c.read_response().status, 200);  // both kept the connection
}

TEST_F(WsgiTest, ABodyLongerOrShorterThanItsContentLengthEndsTheConnection) {
  serve(pieces);
  auto longer = client();
  longer.send("GET /?length=5 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(longer.read_response().body, "abcca");
  EXPECT_TRUE(longer.closed_by_server());
  auto shorter = client();
  shorter.send("GET /?length=9 HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string raw = shorter.read_to_close();
  EXPECT_TRUE(raw.ends_with("\r\n\r\nabccabc")) << raw;
  EXPECT_NE(error_log_.str().find("longer than its Content-Length"), std::string::npos);
  EXPECT_NE(error_log_.str().find("shorter than its Content-Length"), std::string::npos);
}

TEST_F(WsgiTest, HeadAnd204And304CarryNoBody) {
  serve([](Environ& env, StartResponse& start_response) {
    const std::string_view status = env.query_string().empty() ? "200 OK" : env.query_string();
    start_response(status == "204"   ? "204 No Content"
                   : status == "304" ? "304 Not Modified"
                                     : status,
                   {});
    return env.path_info() == "/gen"
               ? Body::generator([] { return std::optional<std::string>("x"); })
               : Body("some body");
  });
  auto c = client();
  c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
  HttpResponse r = c.read_response(/*head=*/true);
  EXPECT_EQ(r.header("Content-Length"), "9");  // what GET would say
  // A generator is not run for HEAD (it never ends here): no body, no framing.
  c.send("HEAD /gen HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.read_response(true);
  EXPECT_FALSE(r.has("Content-Length"));
  EXPECT_FALSE(r.chunked);
  for (const char* status : {"204", "304"}) {
    c.send(std::string("GET /?") + status + " HTTP/1.1\r\nHost: t\r\n\r\n");
    r = c.read_response();
    EXPECT_EQ(r.status, std::stoi(status));
    EXPECT_FALSE(r.has("Content-Length"));
  }
  c.send(kGet);  // nothing stray came before this answer
  r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "some body");
}

TEST_F(WsgiTest, AnErrorAnswerToHeadHasNoBody) {
  serve([](Environ&, StartResponse&) -> Body { throw std::runtime_error("boom"); });
  auto c = client();
  c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
  HttpResponse r = c.read_response(/*head=*/true);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.header("Content-Length"), "22");  // what GET would get: "Internal Server Error\n"
  EXPECT_EQ(c.read_to_close(), "");
}

TEST_F(WsgiTest, FileBodyIsSent) {
  char path[] = "/tmp/gevent-wsgi-file-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string content(300000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
  serve([&](Environ& env, StartResponse& start_response) {
    start_response("200 OK", {{"Content-Type", "application/octet-stream"}});
    if (env.query_string() == "part") return Body::file(::open(path, O_RDONLY), 5, 10);
    return Body::file(path);
  });
  auto c = client();
  c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /?part HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(c.read_response().body, content);
  EXPECT_EQ(c.read_response().body, content.substr(5, 10));
  ::unlink(path);
}

// Reads a whole response slowly: at most 256 KiB, then a pause, until the server closes.
std::string read_slowly_to_close(gevent::socket& sock, std::chrono::milliseconds pause) {
  std::string received;
  std::vector<char> chunk(256 << 10);
  while (const std::size_t n = sock.recv(chunk)) {
    received.append(chunk.data(), n);
    gevent::sleep(pause);
  }
  return received;
}

// io_timeout bounds each wait for progress, not the whole response: a slow reader gets all of
// a body that takes several times io_timeout to send (string and file bodies alike). The
// reader shares the server's thread, so a stall of the whole process (a loaded machine, the
// sanitizers) looks to the server like a reader making no progress: io_timeout is forty
// pauses long, and the body is ninety-six reads.
TEST_F(WsgiTest, ASlowReaderGetsALargeBodyThatTakesLongerThanIoTimeout) {
  constexpr std::size_t kSize = 24 << 20;  // several times what loopback's buffers hold
  char path[] = "/tmp/gevent-wsgi-big-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string content(kSize, 'z');
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
  options_.io_timeout = 800ms;
  serve([&](Environ& env, StartResponse& start_response) -> Body {
    start_response("200 OK", {});
    if (env.query_string() == "file") return Body::file(path);
    return content;
  });
  for (const char* target : {"/", "/?file"}) {
    SCOPED_TRACE(target);
    auto c = client();
    c.send("GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    const auto started = std::chrono::steady_clock::now();
    const std::string response = read_slowly_to_close(c.socket(), 20ms);
    EXPECT_GT(std::chrono::steady_clock::now() - started, options_.io_timeout.value());
    const auto head_end = response.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    EXPECT_EQ(response.size() - head_end - 4, kSize);
  }
  ::unlink(path);
}

TEST_F(WsgiTest, ABodyOverMaxBodySizeIsRefusedWith413) {
  options_.max_body_size = 10;
  int calls = 0;
  int refusals_seen = 0;
  serve([&](Environ& env, StartResponse& start_response) {
    ++calls;
    std::string body;
    try {
      body = env.input().read();
    } catch (const gevent::pywsgi::InputError&) {
      EXPECT_THROW(env.input().read(), gevent::pywsgi::InputError);  // not a shorter body
      EXPECT_FALSE(env.input().at_end());
      ++refusals_seen;
      throw;
    }
    start_response("200 OK", {});
    return body;
  });
  auto at_limit = client();
  at_limit.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789");
  EXPECT_EQ(at_limit.read_response().body, "0123456789");

  auto over = client();  // refused before the application runs, and before any 100 Continue
  over.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(over.read_response().status, 413);
  EXPECT_TRUE(over.closed_by_server());
  EXPECT_EQ(calls, 1);

  auto chunked = client();  // only known while the application reads it
  chunked.send(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.read_response().status, 413);
  EXPECT_TRUE(chunked.closed_by_server());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(refusals_seen, 1);
  const std::string log = access_log_.str();
  const std::regex refused("\"POST / HTTP/1.1\" 413 ");
  EXPECT_EQ(
      std::distance(std::sregex_iterator(log.begin(), log.end(), refused), std::sregex_iterator()),
      2);
}

TEST_F(WsgiTest, ResponseSplittingAndBadStatusAreApplicationErrors) {
  serve([](Environ& env, StartResponse& start_response) {
    const std::string_view q = env.query_string();
    if (q == "value") start_response("200 OK", {{"X-A", "1\r\nSet-Cookie: evil=1"}});
    if (q == "name") start_response("200 OK", {{"X A", "1"}});
    if (q == "status") start_response("200 OK\r\nSet-Cookie: evil=1", {});
    if (q == "short") start_response("20", {});
    if (q == "te") start_response("200 OK", {{"Transfer-Encoding", "chunked"}});
    if (q == "none") return Body("no start_response");
    return Body("unreachable");
  });
  for (const char* q : {"value", "name", "status", "short", "te", "none"}) {
    auto c = client();
    c.send(std::string("GET /?") + q + " HTTP/1.1\r\nHost: t\r\n\r\n");
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 500) << q;
    EXPECT_FALSE(r.has("Set-Cookie")) << q;
    EXPECT_EQ(r.header("Connection"), "close") << q;
    EXPECT_TRUE(c.closed_by_server()) << q;
  }
  EXPECT_NE(error_log_.str().find("application error"), std::string::npos);
}

TEST_F(WsgiTest, StartResponseTwiceNeedsExcInfoBeforeTheHeadersAreSent) {
  serve([](Environ& env, StartResponse& start_response) {
    start_response("200 OK", {});
    if (env.query_string() == "twice") start_response("201 Created", {});
    try {
      throw std::runtime_error("late failure");
    } catch (...) {
      start_response("503 Service Unavailable", {}, std::current_exception());
    }
    return "replaced";
  });
  auto c = client();
  c.send(kGet);
  const HttpResponse r = c.read_response();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "replaced");
  auto twice = client();
  twice.send("GET /?twice HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(twice.read_response().status, 500);
}

TEST_F(WsgiTest, AnErrorAfterTheHeadersDropsTheConnectionAndServingGoesOn) {
  serve([](Environ& env, StartResponse& start_response) {
    if (env.query_string() != "fail") return hello(env, start_response);
    start_response("200 OK", {});
    return Body::generator([i = 0]() mutable -> std::optional<std::string> {
      if (i++ == 0) return "first piece";
      throw std::runtime_error("generator failed");
    });
  });
  auto c = client();
  c.send("GET /?fail HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string raw = c.read_to_close();
  EXPECT_NE(raw.find("first piece"), std::string::npos);
  EXPECT_EQ(raw.find("0\r\n\r\n"), std::string::npos);  // no end of the chunked body
  EXPECT_NE(error_log_.str().find("generator failed"), std::string::npos);
  auto next = client();
  next.send(kGet);
  EXPECT_EQ(next.read_response().body, "Hello, World!");
}

Body echo_lines(Environ& env, StartResponse& start_response) {
  std::vector<std::string> lines;
  for (const std::string& line : env.input()) lines.push_back("[" + line + "]");
  start_response("200 OK", {});
  return lines;
}

TEST_F(WsgiTest, InputReadsChunkedBodiesLineByLine) {
  serve(echo_lines);
  auto c = client();
  c.send(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;ext=1\r\none\n\r\n6\r\ntwo\nth\r\n4\r\nree\n\r\n0\r\nX-Trailer: t\r\n\r\n" +
      std::string(kGet));
  EXPECT_EQ(c.read_response().body, "[one\n][two\n][three\n]");
  EXPECT_EQ(c.read_response().status, 200);  // the pipelined request after the body
}

TEST_F(WsgiTest, InputReadsLargeBodiesAndStopsAtTheirEnd) {
  std::string got;
  bool at_end = false;
  serve([&](Environ& env, StartResponse& start_response) {
    if (env.method() != "POST") return hello(env, start_response);
    got = env.input().read();
    at_end = env.input().at_end();
    EXPECT_EQ(env.input().read(), "");
    return hello(env, start_response);
  });
  std::string body(1 << 20, 'x');
  body[12345] = 'y';
  auto c = client();
  c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body + kGet);
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body);
  EXPECT_TRUE(at_end);
}

TEST_F(WsgiTest, BadChunkedBodyIsA400WhenTheApplicationReadsIt) {
  serve(echo_lines);
  auto c = client();
  c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  EXPECT_EQ(c.read_response().status, 400);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(WsgiTest, ContinueIsSentOnlyWhenTheApplicationReadsTheBody) {
  serve([](Environ& env, StartResponse& start_response) {
    std::string body = env.query_string() == "read" ? env.input().read() : "unread";
    start_response("200 OK", {});
    return body;
  });
  auto reader = client();
  reader.send(
      "POST /?read HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(reader.read_response().status, 100);
  reader.send("body");
  EXPECT_EQ(reader.read_response().body, "body");

  auto ignorer = client();
  ignorer.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  const HttpResponse r = ignorer.read_response();  // no 100 first
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "unread");
  EXPECT_EQ(r.header("Connection"), "close");  // the body may or may not come: framing lost
}

TEST_F(WsgiTest, AnUnreadBodyIsSkippedAndTheConnectionKept) {
  serve(hello);
  auto c = client();
  c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789" + std::string(kGet));
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(c.read_response().body, "Hello, World!");
}

// The application answers without reading the body; the client sends only part of it and
// waits for the answer, which must not wait for the rest (nginx and pywsgi answer at once).
TEST_F(WsgiTest, AnAnswerToAPartlySentUnreadBodyGoesOutAtOnce) {
  serve([](Environ&, StartResponse& start_response) {
    start_response("404 Not Found", {});
    return "no such thing";
  });
  auto c = client();
  const auto start = std::chrono::steady_clock::now();
  c.send("POST /missing HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789");
  const HttpResponse r = c.read_response();
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no such thing");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "the answer waited for the body";
}

TEST_F(WsgiTest, PipelinedRequestsAreAnsweredInOrderAndCloseStopsThem) {
  serve([](Environ& env, StartResponse& start_response) {
    start_response("200 OK", {});
    return std::string(env.path_info());
  });
  auto c = client();
  std::string batch;
  for (int i = 0; i < 20; ++i)
    batch += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
  batch += "GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  batch += "GET /never HTTP/1.1\r\nHost: t\r\n\r\n";
  c.send(batch);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.read_response().body, "/" + std::to_string(i));
  const HttpResponse last = c.read_response();
  EXPECT_EQ(last.body, "/last");
  EXPECT_EQ(last.header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(WsgiTest, AnApplicationsConnectionCloseEndsTheConnection) {
  serve([](Environ&, StartResponse& start_response) {
    start_response("200 OK", {{"Connection", "Upgrade-Insecure, close"}});
    return "bye";
  });
  auto c = client();
  c.send(kGet);
  EXPECT_EQ(c.read_response().body, "bye");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(WsgiTest, Http10KeepsAliveOnlyWhenAsked) {
  serve(hello);
  auto asked = client();
  asked.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(asked.read_response().header("Connection"), "keep-alive");
  asked.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(asked.read_response().header("Connection"), "close");
  EXPECT_TRUE(asked.closed_by_server());
}

TEST_F(WsgiTest, ABadRequestGetsItsStatusAndTheConnectionCloses) {
  serve(hello);
  const std::pair<const char*, int> cases[] = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
  };
  for (const auto& [request, status] : cases) {
    auto c = client();
    c.send(request);
    EXPECT_EQ(c.read_response().status, status) << request;
    EXPECT_TRUE(c.closed_by_server()) << request;
  }
  auto big = client();
  big.send("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(big.read_response().status, 414);
}

// Bytes that cannot start a request are refused as they arrive, not at the header timeout.
TEST_F(WsgiTest, BytesThatCannotStartARequestAreRefusedAtOnce) {
  serve(hello);  // header_timeout: 30 s
  for (const char* start : {"\xc8", "GET\x01", "G(T", "GET /a b"}) {
    auto c = client();
    const auto sent = std::chrono::steady_clock::now();
    c.send(start);
    EXPECT_EQ(c.read_response().status, 400) << start;
    EXPECT_LT(std::chrono::steady_clock::now() - sent, 2s) << start;
    EXPECT_TRUE(c.closed_by_server()) << start;
  }
}

// The first head is due header_timeout after the connection opened, however long the client
// kept silent before its first byte (as the option says).
TEST_F(WsgiTest, TheFirstHeadsTimeoutCountsFromTheConnectionsStart) {
  options_.header_timeout = 400ms;
  serve(hello);
  auto c = client();
  const auto opened = std::chrono::steady_clock::now();
  gevent::sleep(300ms);
  c.send("GET / HTTP/1.1\r\n");
  EXPECT_EQ(c.read_response().status, 408);
  const auto lived = std::chrono::steady_clock::now() - opened;
  EXPECT_GE(lived, 380ms);
  EXPECT_LT(lived, 650ms) << "the timeout counted from the first byte (300 + 400 ms)";
}

TEST_F(WsgiTest, SlowAndIdleClientsAreTimedOut) {
  options_.header_timeout = 200ms;
  options_.keepalive_timeout = 200ms;
  serve(hello);
  auto partial = client();
  partial.send("GET / HTTP/1.1\r\nHo");
  EXPECT_EQ(partial.read_response().status, 408);
  auto idle = client();
  idle.send(kGet);
  EXPECT_EQ(idle.read_response().status, 200);
  EXPECT_TRUE(idle.closed_by_server());
  auto silent = client();
  EXPECT_TRUE(silent.closed_by_server());
}

TEST_F(WsgiTest, AccessLogHasGeventsFormat) {
  serve(hello);
  auto c = client();
  c.send(kGet);
  c.read_response();
  c.send("GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  c.read_response();
  auto bad = client();
  bad.send("GARBAGE\r\n\r\n");
  const HttpResponse refused = bad.read_response();
  const std::string log = access_log_.str();
  const std::regex line(
      R"(127\.0\.0\.1 - - \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] "GET / HTTP/1\.1" 200 13 \d+\.\d{6}\n)"
      R"(127\.0\.0\.1 - - \[[^\]]+\] "GET /missing HTTP/1\.1" 200 13 \d+\.\d{6}\n)"
      R"(127\.0\.0\.1 - - \[[^\]]+\] "" 400 )" +
      std::to_string(refused.body.size()) + R"( \d+\.\d{6}\n)");
  EXPECT_TRUE(std::regex_match(log, line)) << log;
}

// A stream buffer that counts the writes reaching it.
class CountingBuffer : public std::stringbuf {
 public:
  int writes = 0;

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    ++writes;
    return std::stringbuf::xsputn(s, n);
  }
};

TEST_F(WsgiTest, AccessLogLinesOfOneTurnGoOutInOneWrite) {
  CountingBuffer buffer;
  std::ostream log(&buffer);
  options_.log = &log;
  serve(hello);
  auto c = client();
  c.send(std::string(kGet) + kGet + kGet);  // served in one turn of the connection's greenlet
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.read_response().status, 200);
  const std::string lines = buffer.str();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 3) << lines;
  EXPECT_EQ(buffer.writes, 1);
  c.send(kGet);  // a later turn: a write of its own
  c.read_response();
  EXPECT_EQ(buffer.writes, 2);
  server_.reset();  // before the stream goes
}

TEST_F(WsgiTest, StopLetsARunningRequestFinish) {
  serve([](Environ& env, StartResponse& start_response) {
    gevent::sleep(100ms);
    return hello(env, start_response);
  });
  auto c = client();
  c.send(kGet);
  auto stopper = gevent::spawn([this] {
    gevent::sleep(20ms);
    server_->stop(2s);
  });
  EXPECT_EQ(c.read_response().body, "Hello, World!");
  stopper.join();
}

TEST_F(WsgiTest, ARequestCutOffByTheStopTimeoutIsLogged) {
  serve([](Environ& env, StartResponse& start_response) {
    gevent::sleep(5s);
    return hello(env, start_response);
  });
  auto c = client();
  c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  auto stopper = gevent::spawn([this] {
    gevent::sleep(20ms);
    server_->stop(50ms);
  });
  EXPECT_TRUE(c.closed_by_server());
  stopper.join();
  EXPECT_NE(error_log_.str().find("\"GET /slow HTTP/1.1\" from 127.0.0.1 cut off unanswered"),
            std::string::npos)
      << error_log_.str();
}

TEST_F(WsgiTest, CountersAreServedInPrometheusFormatAtTheirPath) {
  serve(gevent::pywsgi::with_counters(hello, "/metrics"));
  auto c = client();
  c.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  const HttpResponse metrics = c.read_response();
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(std::regex_search(
      metrics.body, std::regex("# TYPE gevent_switches_total counter\n"
                               "gevent_switches_total\\{thread=\"[0-9]+\"\\} [1-9][0-9]*\n")))
      << metrics.body;
  // At least the connection's own greenlet and the server's accept loop are alive.
  std::smatch alive;
  ASSERT_TRUE(std::regex_search(metrics.body, alive,
                                std::regex("gevent_greenlets_alive\\{[^}]*\\} ([0-9]+)")));
  EXPECT_GE(std::stoi(alive[1]), 2);
  c.send(kGet);
  EXPECT_EQ(c.read_response().body, "Hello, World!");
  c.send("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(c.read_response().body, "Hello, World!");  // only GET and HEAD are the counters'
  EXPECT_THROW(gevent::pywsgi::with_counters(hello, "metrics"), std::invalid_argument);
  EXPECT_THROW(gevent::pywsgi::with_counters(nullptr), std::invalid_argument);
}

TEST_F(WsgiTest, ServesOverTls) {
  const auto& certs = gevent::testing::tls_certs();
  options_.ssl_context.emplace(gevent::ssl::PROTOCOL_TLS_SERVER);
  options_.ssl_context->load_cert_chain(certs.server, certs.server_key);
  std::string scheme;
  serve([&](Environ& env, StartResponse& start_response) {
    scheme = env["wsgi.url_scheme"];
    return hello(env, start_response);
  });
  gevent::ssl::SSLContext context{gevent::ssl::PROTOCOL_TLS_CLIENT};
  context.load_verify_locations(certs.ca);
  auto tls = context.wrap_socket(gevent::create_connection(server_->server_address(), 2s), false,
                                 "localhost");
  tls.sendall("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  std::string raw;
  char buf[4096];
  while (std::size_t n = tls.recv(buf)) raw.append(buf, n);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 OK\r\n")) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\nHello, World!")) << raw;
  EXPECT_EQ(scheme, "https");
}

TEST(WsgiServerTest, RejectsAnEmptyApplication) {
  EXPECT_THROW(WSGIServer("127.0.0.1:0", nullptr), std::invalid_argument);
}

TEST(WsgiServerTest, RejectsAServerSoftwareThatWouldSplitTheHead) {
  gevent::pywsgi::WSGIServerOptions options;
  options.server_software = "gevent-cpp\r\nSet-Cookie: a=b";
  auto app = [](Environ&, StartResponse& start_response) -> Body {
    start_response("200 OK", {});
    return {};
  };
  EXPECT_THROW(WSGIServer("127.0.0.1:0", app, {}, options), std::invalid_argument);
}

}  // namespace
