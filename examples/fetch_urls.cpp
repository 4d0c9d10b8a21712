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
#include <curl/curl.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

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
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    std::printf("usage: %s URL...\n  fetches every URL at once, one greenlet each\n", argv[0]);
    return argc < 2 ? 2 : 0;
  }
  gevent::monkey::patch_all();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::vector<gevent::Greenlet<void>> jobs;
  for (int i = 1; i < argc; ++i) jobs.push_back(gevent::spawn(print_head, std::string(argv[i])));
  gevent::joinall(jobs);
  curl_global_cleanup();
}
