// WSGIServer's connections between requests (src/wsgi/connections.hpp): idle ones are parked
// without a greenlet, workers serve them, max_connections bounds them, stop closes them.
#include <gtest/gtest.h>

#include <vector>

#include "gevent/gevent.hpp"
#include "gevent/pywsgi.hpp"
#include "support/harness.hpp"
#include "wsgi/http_client.hpp"
#include "wsgi/wsgi_test.hpp"

using namespace std::chrono_literals;
using gevent::pywsgi::Body;
using gevent::pywsgi::Environ;
using gevent::pywsgi::StartResponse;
using gevent::testing::hello;
using gevent::testing::HttpClient;
using gevent::testing::kGet;
using gevent::testing::WsgiTest;

namespace {

class WsgiConnectionsTest : public WsgiTest {
 protected:
  // n connections that each got an answer and are kept alive.
  std::vector<HttpClient> idle_clients(int n) {
    std::vector<HttpClient> clients;
    for (int i = 0; i < n; ++i) {
      clients.push_back(client());
      clients.back().send(kGet);
      EXPECT_EQ(clients.back().read_response().status, 200);
    }
    return clients;
  }
};

TEST_F(WsgiConnectionsTest, IdleKeepAliveConnectionsHoldNoGreenletAndAreServedAgain) {
  serve(hello);
  auto clients = idle_clients(50);
  gevent::sleep(10ms);
  // The accept loop, the dispatcher and a few idle workers; before parking, one per client.
  EXPECT_LE(gevent::Hub::current().live_greenlets(), 8u);
  for (auto& c : clients) {
    c.send(kGet);
    EXPECT_EQ(c.read_response().body, "Hello, World!");
  }
}

TEST_F(WsgiConnectionsTest, AWorkerServesConnectionAfterConnection) {
  serve(hello);
  const auto started = gevent::hub_counters().greenlets_started;
  for (int i = 0; i < 20; ++i) {
    auto c = client();
    c.send(kGet);
    EXPECT_EQ(c.read_response().status, 200);
  }
  EXPECT_LE(gevent::hub_counters().greenlets_started - started, 4u);
}

// A greenlet-local made by one client's request is never seen by another client's: the worker
// that served it ends, and a fresh one serves the next connection.
TEST_F(WsgiConnectionsTest, GreenletLocalsDoNotCrossFromOneClientToAnother) {
  gevent::local<int> requests_seen;
  serve([&](Environ&, StartResponse& start_response) -> Body {
    start_response("200 OK", {});
    return std::to_string(++*requests_seen);
  });
  auto first = client();
  first.send(std::string(kGet) + kGet);  // one turn: the same greenlet, as in gevent
  EXPECT_EQ(first.read_response().body, "1");
  EXPECT_EQ(first.read_response().body, "2");
  auto second = client();
  second.send(kGet);
  EXPECT_EQ(second.read_response().body, "1");
}

TEST_F(WsgiConnectionsTest, ParkedConnectionsTimeOut) {
  options_.header_timeout = 150ms;
  options_.keepalive_timeout = 100ms;
  serve(hello);
  auto silent = client();
  auto kept = idle_clients(1);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(kept[0].closed_by_server());
  EXPECT_TRUE(silent.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  auto fresh = client();  // the server still serves
  fresh.send(kGet);
  EXPECT_EQ(fresh.read_response().status, 200);
}

TEST_F(WsgiConnectionsTest, MaxConnectionsClosesTheLongestIdleToMakeRoom) {
  options_.max_connections = 2;
  serve(hello);
  auto clients = idle_clients(2);
  auto third = client();
  third.send(kGet);
  EXPECT_EQ(third.read_response().status, 200);
  EXPECT_TRUE(clients[0].closed_by_server());
  clients[1].send(kGet);
  EXPECT_EQ(clients[1].read_response().status, 200);
}

TEST_F(WsgiConnectionsTest, MaxConnectionsEvictsSilentClientsForRealOnes) {
  options_.max_connections = 20;
  serve(hello);
  std::vector<HttpClient> silent;
  for (int i = 0; i < 20; ++i) silent.push_back(client());
  gevent::sleep(10ms);
  auto real = client();
  real.send(kGet);
  EXPECT_EQ(real.read_response().status, 200);
  EXPECT_TRUE(silent[0].closed_by_server());
}

TEST_F(WsgiConnectionsTest, MaxConnectionsWaitsWhileEveryConnectionIsInARequest) {
  options_.max_connections = 1;
  gevent::Event release;
  serve([&](Environ& env, StartResponse& start_response) {
    if (env.path_info() == "/wait") release.wait();
    return hello(env, start_response);
  });
  auto busy = client();
  busy.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n");
  gevent::sleep(20ms);
  auto waiting = client();  // the kernel takes it; the server does not accept it yet
  waiting.send(kGet);
  char byte;
  std::error_code ec;
  waiting.socket().settimeout(100ms);
  waiting.socket().recv({&byte, 1}, ec);
  EXPECT_EQ(ec, std::errc::timed_out);
  waiting.socket().settimeout(5s);
  release.set();
  EXPECT_EQ(busy.read_response().status, 200);
  EXPECT_EQ(waiting.read_response().status, 200);  // the idle `busy` made room
  EXPECT_TRUE(busy.closed_by_server());
}

TEST_F(WsgiConnectionsTest, StopClosesIdleConnectionsAtOnce) {
  options_.stop_timeout = 5s;
  serve(hello);
  auto clients = idle_clients(3);
  const auto start = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  for (auto& c : clients) EXPECT_TRUE(c.closed_by_server());
}

TEST_F(WsgiConnectionsTest, StopEndsAKeptAliveConnectionAfterItsRequestInProgress) {
  serve([](Environ& env, StartResponse& start_response) {
    gevent::sleep(50ms);
    return hello(env, start_response);
  });
  auto c = client();
  c.send(kGet);
  auto stopper = gevent::spawn([this] {
    gevent::sleep(10ms);
    server_->stop(2s);
  });
  const auto response = c.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(c.closed_by_server());
  stopper.join();
}

TEST(WsgiConnectionsOptions, RejectsMaxConnectionsZero) {
  gevent::pywsgi::WSGIServerOptions options;
  options.max_connections = 0;
  EXPECT_THROW(gevent::pywsgi::WSGIServer("127.0.0.1:0", hello, {}, options),
               std::invalid_argument);
}

}  // namespace
