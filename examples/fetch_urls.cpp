// gevent's introductory example in C++: fetch several URLs at once with libcurl's plain,
// blocking easy API. patch_all() makes libcurl's socket calls cooperative, so the whole run
// takes about as long as the slowest URL, not the sum of them all.
//
//   build/bin/fetch_urls http://127.0.0.1:8000/ http://127.0.0.1:8000/hello
//
// The Python original:
//
//   from gevent import monkey; monkey.patch_all()
//   import gevent, requests
//   def print_head(url):
//       print('Starting %s' % url)
//       data = requests.get(url).text
//       print('%s: %s bytes: %r' % (url, len(data), data[:50]))
//   jobs = [gevent.spawn(print_head, url) for url in urls]
//   gevent.wait(jobs)
#include "command_line.hpp"

#include <curl/curl.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr char usage[] = R"(usage: fetch_urls URL...

Fetches every URL at once, one greenlet each, with libcurl's blocking API made cooperative,
and prints the start of each page.

  -h, --help     print this help and exit
)";

struct Options {
  bool help = false;
  std::vector<std::string> urls;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (example::help_requested(arg, options.help)) return options;
    example::reject_option(arg);
    options.urls.push_back(arg);
  }
  if (options.urls.empty()) throw example::UsageError("expected at least one URL");
  return options;
}

size_t keep(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

void print_head(const std::string& url) {
  std::printf("Starting %s\n", url.c_str());
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, keep);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  const CURLcode code = curl_easy_perform(curl.get());  // blocks only this greenlet
  if (code != CURLE_OK) {
    std::printf("%s: failed: %s\n", url.c_str(), curl_easy_strerror(code));
    return;
  }
  std::string head = body.substr(0, 50);
  while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
  std::printf("%s: %zu bytes: %s\n", url.c_str(), body.size(), head.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("fetch_urls", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    gevent::monkey::patch_all();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    std::vector<gevent::Greenlet<void>> jobs;
    for (const auto& url : options.urls) jobs.push_back(gevent::spawn(print_head, url));
    gevent::joinall(jobs);
    curl_global_cleanup();
    return 0;
  });
}
