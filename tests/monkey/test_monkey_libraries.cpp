// Unmodified C libraries under patch_all(): libcurl's easy API, libpq and hiredis, against real
// servers on loopback (tests/services/services.sh starts PostgreSQL and Redis; the HTTP server
// is a WSGIServer on the same hub). Each proof runs beside a heartbeat greenlet: a library
// call that blocked the hub would stall it for the whole call.
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>
#include <gevent/pywsgi.hpp>
#include <gevent/ssl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/harness.hpp"
#include "support/heartbeat.hpp"
#include "support/stack_depth.hpp"
#include "support/tls_certs.hpp"

using namespace std::chrono_literals;
using gevent::testing::Heartbeat;
using Clock = std::chrono::steady_clock;

namespace {

// A hundred libcurl or libpq calls starting in one loop iteration have stalled the heartbeat
// for 51 ms in a release build and 247 ms under TSan (a fiber per greenlet), on a shared
// machine running two tests at once: the bounds here follow the calls' own length.
using gevent::testing::gap_bound;

// Serial calls would take the sum of their delays; concurrent ones about the longest. The
// bounds leave room for the sanitizers and a shared machine, far below the sum.
constexpr auto kConcurrentBound = 5s;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  if (!value) ADD_FAILURE() << name << " is not set: run through ctest (tests/services)";
  return value ? value : "";
}

auto elapsed_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

class LibraryTest : public gevent::testing::HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    gevent::monkey::patch_all();
    // Made once, here: a greenlet making them would hold every other greenlet's first call
    // at the static's initialisation guard, blocking the thread.
    gevent::testing::tls_certs();
  }
};

// --- libcurl ---

size_t collect(char* data, size_t size, size_t count, void* into) {
  static_cast<std::string*>(into)->append(data, size * count);
  return size * count;
}

struct Fetch {
  CURLcode code = CURLE_OK;
  std::string body;
};

Fetch fetch(const std::string& url) {
  Fetch result;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CAINFO, gevent::testing::tls_certs().ca.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &result.body);
  result.code = curl_easy_perform(curl.get());
  return result;
}

// An HTTP server on the same hub that answers /delay/<ms> after that many milliseconds; over
// TLS (the test CA's certificate for 127.0.0.1) when asked.
class SlowServer {
 public:
  explicit SlowServer(bool tls = false)
      : server_(
            "127.0.0.1:0",
            [](gevent::pywsgi::Environ& environ, gevent::pywsgi::StartResponse& start_response) {
              const std::string path(environ.path_info());
              gevent::sleep(std::chrono::milliseconds(std::stoi(path.substr(path.rfind('/') + 1))));
              start_response("200 OK", {{"Content-Type", "text/plain"}});
              return gevent::pywsgi::Body("done " + path);
            },
            {}, options(tls)),
        scheme_(tls ? "https" : "http") {
    server_.start();
  }
  ~SlowServer() { server_.stop(1s); }
  std::string url(int delay_ms) const {
    return scheme_ + "://127.0.0.1:" + std::to_string(server_.server_address().port()) + "/delay/" +
           std::to_string(delay_ms);
  }

 private:
  static gevent::pywsgi::WSGIServerOptions options(bool tls) {
    gevent::pywsgi::WSGIServerOptions options;
    options.log = nullptr;
    if (tls) {
      options.ssl_context.emplace(gevent::ssl::PROTOCOL_TLS_SERVER);
      options.ssl_context->load_cert_chain(gevent::testing::tls_certs().server,
                                           gevent::testing::tls_certs().server_key);
    }
    return options;
  }

  gevent::pywsgi::WSGIServer server_;
  std::string scheme_;
};

// `count` fetches at once of pages that take 0.5 s, each expected whole and in about that time.
void fetch_concurrently(const SlowServer& server, int count, const char* what) {
  Heartbeat heartbeat;
  std::vector<gevent::Greenlet<Fetch>> fetches;
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) fetches.push_back(gevent::spawn(fetch, server.url(500)));
  for (auto& f : fetches) {
    const Fetch result = f.get();
    EXPECT_EQ(result.code, CURLE_OK) << curl_easy_strerror(result.code);
    EXPECT_EQ(result.body, "done /delay/500");
  }
  const auto took = elapsed_since(start);
  std::printf("%d %s of 0.5 s each: %lld ms\n", count, what, static_cast<long long>(took.count()));
  EXPECT_LT(took, kConcurrentBound);
  EXPECT_LT(heartbeat.stop(), gap_bound(500ms));
}

TEST_F(LibraryTest, CurlEasyPerformFromAHundredGreenletsAtOnce) {
  SlowServer server;
  fetch_concurrently(server, 100, "fetches");
}

TEST_F(LibraryTest, CurlHttpsFromFiftyGreenletsAtOnce) {
  SlowServer server(true);
  fetch_concurrently(server, 50, "HTTPS fetches");
}

TEST_F(LibraryTest, KillAndTimeoutInsideCurlEasyPerform) {
  SlowServer server;
  CURLcode seen = CURLE_OK;
  bool after_switch_point = false;
  auto victim = gevent::spawn([&] {
    seen = fetch(server.url(5000)).code;  // libcurl cleans up; GreenletExit comes next
    gevent::sleep(0s);
    after_switch_point = true;
  });
  gevent::sleep(100ms);
  const auto start = Clock::now();
  victim.kill();
  EXPECT_LT(elapsed_since(start), 1s);
  EXPECT_NE(seen, CURLE_OK);
  EXPECT_FALSE(after_switch_point);

  EXPECT_THROW(gevent::with_timeout(100ms, fetch, server.url(5000)), gevent::Timeout);
  EXPECT_EQ(fetch(server.url(0)).code, CURLE_OK);  // and libcurl still works
}

// --- libpq ---

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;

Connection connect_pg(const std::string& host) {
  const std::string info = "host=" + host + " port=" + env("GEVENT_TEST_PG_PORT") +
                           " user=postgres dbname=postgres connect_timeout=10";
  return Connection(PQconnectdb(info.c_str()), PQfinish);
}

std::string query(PGconn* conn, const char* sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn, sql), PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) return PQerrorMessage(conn);
  return PQgetvalue(result.get(), 0, 0);
}

// Each greenlet connects, waits for the others, then sleeps 0.5 s in the server: only the
// queries are timed (a hundred backends starting and exiting at once take a while).
void pg_sleep_in_parallel(const std::string& host, int count) {
  std::vector<Connection> connections;
  for (int i = 0; i < count; ++i) connections.push_back(Connection(nullptr, PQfinish));
  {
    std::vector<gevent::Greenlet<void>> connecting;
    for (int i = 0; i < count; ++i)
      connecting.push_back(gevent::spawn([&, i] { connections[i] = connect_pg(host); }));
    gevent::joinall(connecting);
  }
  for (const Connection& conn : connections)
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  Heartbeat heartbeat;
  std::vector<gevent::Greenlet<std::string>> queries;
  const auto start = Clock::now();
  for (const Connection& conn : connections)
    queries.push_back(
        gevent::spawn([c = conn.get()] { return query(c, "SELECT 'slept' FROM pg_sleep(0.5)"); }));
  for (auto& q : queries) EXPECT_EQ(q.get(), "slept");
  const auto took = elapsed_since(start);
  std::printf("%d pg_sleep(0.5) over %s: %lld ms\n", count, host.c_str(),
              static_cast<long long>(took.count()));
  EXPECT_LT(took, kConcurrentBound);
  EXPECT_LT(heartbeat.stop(), gap_bound(500ms));
}

TEST_F(LibraryTest, LibpqQueriesFromAHundredGreenletsOverTcp) {
  pg_sleep_in_parallel("127.0.0.1", 100);
}

TEST_F(LibraryTest, LibpqQueriesOverTheUnixSocket) {
  pg_sleep_in_parallel(env("GEVENT_TEST_PG_SOCKET_DIR"), 20);
}

TEST_F(LibraryTest, KillAndTimeoutInsideALibpqQuery) {
  Connection conn = connect_pg("127.0.0.1");
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  std::string seen;
  auto victim = gevent::spawn([&] {
    seen = query(conn.get(), "SELECT 'slept' FROM pg_sleep(5)");
    gevent::sleep(0s);
    seen += " and went on";
  });
  gevent::sleep(100ms);
  const auto start = Clock::now();
  victim.kill();
  EXPECT_LT(elapsed_since(start), 1s);
  EXPECT_NE(seen.find("canceled"), std::string::npos) << seen;

  Connection other = connect_pg("127.0.0.1");
  EXPECT_THROW(gevent::with_timeout(100ms, query, other.get(), "SELECT 'x' FROM pg_sleep(5)"),
               gevent::Timeout);
  Connection fresh = connect_pg("127.0.0.1");
  EXPECT_EQ(query(fresh.get(), "SELECT 'fine'"), "fine");
}

// --- hiredis (Debian's 0.14: blocking read/write after a non-blocking connect) ---

using Redis = std::unique_ptr<redisContext, decltype(&redisFree)>;

Redis connect_redis() {
  return Redis(redisConnect("127.0.0.1", std::stoi(env("GEVENT_TEST_REDIS_PORT"))), redisFree);
}

std::string command(redisContext* c, const std::string& text) {
  auto* reply = static_cast<redisReply*>(redisCommand(c, text.c_str()));
  if (!reply) return std::string("error: ") + c->errstr;
  std::string out = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
                        ? reply->element[1]->str
                        : (reply->str ? reply->str : std::to_string(reply->integer));
  freeReplyObject(reply);
  return out;
}

TEST_F(LibraryTest, HiredisBlpopFromAHundredGreenlets) {
  std::vector<Redis> clients;
  for (int i = 0; i < 100; ++i) {
    clients.push_back(connect_redis());
    ASSERT_TRUE(clients.back() && !clients.back()->err);
  }
  Redis pusher = connect_redis();
  command(pusher.get(), "DEL jobs");
  std::vector<gevent::Greenlet<std::string>> waiters;
  const auto start = Clock::now();
  for (const Redis& c : clients)
    waiters.push_back(gevent::spawn([r = c.get()] { return command(r, "BLPOP jobs 0"); }));
  gevent::sleep(20ms);  // every waiter is in BLPOP (starting a hundred greenlets is not timed)
  Heartbeat heartbeat;
  gevent::sleep(180ms);
  for (int i = 0; i < 100; ++i) command(pusher.get(), "RPUSH jobs job" + std::to_string(i));
  std::vector<std::string> got;
  for (auto& w : waiters) got.push_back(w.get());
  const auto took = elapsed_since(start);
  std::printf("100 BLPOP, pushed after 200 ms: %lld ms\n", static_cast<long long>(took.count()));
  EXPECT_LT(took, kConcurrentBound);
  std::sort(got.begin(), got.end());
  EXPECT_TRUE(std::adjacent_find(got.begin(), got.end()) == got.end()) << "a job came twice";
  for (const std::string& job : got) EXPECT_EQ(job.rfind("job", 0), 0u) << job;
  EXPECT_LT(heartbeat.stop(), gap_bound(200ms));
}

TEST_F(LibraryTest, HiredisTimeoutStillTimesOut) {
  Redis client = connect_redis();
  ASSERT_TRUE(client && !client->err);
  timeval limit{0, 200'000};
  ASSERT_EQ(redisSetTimeout(client.get(), limit), REDIS_OK);
  Heartbeat heartbeat;
  const auto start = Clock::now();
  auto* reply = redisCommand(client.get(), "BLPOP nothing-here 0");
  const auto took = elapsed_since(start);
  EXPECT_EQ(reply, nullptr);
  EXPECT_EQ(client->err, REDIS_ERR_IO);
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);
  EXPECT_LT(heartbeat.stop(), gap_bound(200ms));
}

// --- stack depth ---

#if !GEVENT_ASAN && !GEVENT_TSAN  // the probe paints stack memory the sanitizers watch
// The deepest each library goes on a greenlet's stack, against the default stack size: an
// OpenSSL handshake inside libcurl, libpq's connect with its SSL and GSS probing, hiredis.
TEST_F(LibraryTest, EachLibraryFitsTheDefaultStackWithRoom) {
  SlowServer https(true);
  struct Probe {
    const char* what;
    std::function<void()> call;
  };
  const std::vector<Probe> probes = {
      {"libcurl HTTPS fetch", [&] { EXPECT_EQ(fetch(https.url(0)).code, CURLE_OK); }},
      {"libpq connect and query",
       [] { EXPECT_EQ(query(connect_pg("127.0.0.1").get(), "SELECT 'x'"), "x"); }},
      {"hiredis connect and command",
       [] { EXPECT_EQ(command(connect_redis().get(), "PING"), "PONG"); }},
  };
  const std::size_t stack_size = gevent::config().stack_size;
  for (const Probe& probe : probes) {
    const std::size_t depth =
        gevent::spawn([&] { return gevent::testing::stack_depth_of(probe.call); }).get();
    std::printf("%s: %zu bytes of stack (default stack %zu)\n", probe.what, depth, stack_size);
    EXPECT_LT(depth, stack_size / 2) << probe.what;
  }
}
#endif

}  // namespace
