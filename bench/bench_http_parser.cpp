// The request-head parser and the chunked decoder (Google Benchmark). Time per iteration is
// the time per request (or per body); bytes_per_second is the parse rate.
//
//   build/bin/bench_http_parser                      (release build: cmake --preset release)
//   build/bin/bench_http_parser --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
//   wrk_request       the request wrk sends: request line and Host (40 bytes)
//   browser_request   a Chrome navigation: 20 fields, cookies, long Accept (~870 bytes)
//   chunked_body      64 KiB body in 4 KiB chunks with an extension on each, and a trailer
#include <gevent/pywsgi/http_chunked.hpp>
#include <gevent/pywsgi/http_parser.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

namespace http = gevent::pywsgi::http;

const std::string kWrkRequest = "GET / HTTP/1.1\r\nHost: localhost:8000\r\n\r\n";

const std::string kBrowserRequest =
    "GET /search/results?q=gevent+cpp&page=2 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: max-age=0\r\n"
    "sec-ch-ua: \"Chromium\";v=\"118\", \"Google Chrome\";v=\"118\", \"Not=A?Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://www.example.com/search?q=gevent\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9,fr;q=0.8,de;q=0.7\r\n"
    "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark; consent=yes; "
    "_ga=GA1.2.1234567890.1234567890; _gid=GA1.2.0987654321.0987654321\r\n"
    "If-None-Match: \"5f3b2-1a2b3c4d5e6f\"\r\n"
    "If-Modified-Since: Tue, 10 Oct 2023 08:00:00 GMT\r\n"
    "Priority: u=0, i\r\n"
    "\r\n";

void parse_head(benchmark::State& state, const std::string& request) {
  std::array<http::Header, http::kMaxFields> fields;
  http::Request req;
  for (auto _ : state) {
    http::ParseResult r = http::parse_request(request, fields, req);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(req);
    if (!r.complete()) state.SkipWithError("request not parsed");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void wrk_request(benchmark::State& state) { parse_head(state, kWrkRequest); }
void browser_request(benchmark::State& state) { parse_head(state, kBrowserRequest); }

std::string make_chunked_body() {
  std::string body;
  for (int i = 0; i < 16; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "1000;seq=%d\r\n", i);
    body += line;
    body += std::string(4096, static_cast<char>('a' + i));
    body += "\r\n";
  }
  return body + "0\r\nDigest: sha-256=abc\r\n\r\n";
}

void chunked_body(benchmark::State& state) {
  const std::string body = make_chunked_body();
  for (auto _ : state) {
    http::ChunkedDecoder decoder;
    std::string_view rest = body;
    std::size_t data = 0;
    while (!decoder.done()) {
      http::ChunkedStep step = decoder.decode(rest);
      if (step.status == http::ChunkedStatus::error) {
        state.SkipWithError("body not decoded");
        break;
      }
      data += step.data.size();
      rest.remove_prefix(step.consumed);
    }
    benchmark::DoNotOptimize(data);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

BENCHMARK(wrk_request);
BENCHMARK(browser_request);
BENCHMARK(chunked_body);

}  // namespace

BENCHMARK_MAIN();
