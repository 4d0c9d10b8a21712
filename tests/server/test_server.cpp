// StreamServer and DatagramServer over real loopback sockets.
#include <gevent/gevent.hpp>
#include <gevent/server.hpp>
#include <gevent/socket_file.hpp>

#include <sys/resource.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"
#include "support/tls_certs.hpp"

using namespace std::chrono_literals;
using gevent::server::DatagramServer;
using gevent::server::ServerOptions;
using gevent::server::StreamServer;
using gevent::testing::HubTest;

namespace {

class ServerTest : public HubTest {};

void echo(gevent::socket& sock, const gevent::address&) {
  char buf[4096];
  while (size_t n = sock.recv(buf)) sock.sendall({buf, n});
}

// Sends msg on a new connection and returns what comes back (the same length).
std::string round_trip(const gevent::address& server, const std::string& msg) {
  auto c = gevent::create_connection(server, 5s);
  c.sendall(msg);
  auto f = c.makefile();
  return f.read(msg.size());
}

ServerOptions quiet(std::ostream& log) {
  ServerOptions options;
  options.error_log = &log;
  return options;
}

// The test certificate's server side.
ServerOptions with_tls(ServerOptions options) {
  const auto& certs = gevent::testing::tls_certs();
  options.ssl_context.emplace(gevent::ssl::PROTOCOL_TLS_SERVER);
  options.ssl_context->load_cert_chain(certs.server, certs.server_key);
  return options;
}

TEST_F(ServerTest, EchoesOnAnEphemeralPort) {
  StreamServer server{"127.0.0.1:0", echo};
  server.start();
  EXPECT_GT(server.server_address().port(), 0);
  EXPECT_EQ(round_trip(server.server_address(), "hello"), "hello");
  server.stop();
  EXPECT_FALSE(server.started());
  EXPECT_THROW(gevent::create_connection(server.server_address(), 1s), std::system_error);
}

TEST_F(ServerTest, ListensOnEveryAddressForm) {
  std::vector<StreamServer> servers;
  for (const char* spec : {":0", "localhost:0", "[::1]:0", "127.0.0.1:0"}) {
    StreamServer server{spec, echo};
    server.start();
    auto target = server.server_address();
    if (target.host() == "0.0.0.0") target = gevent::address::ip("127.0.0.1", target.port());
    EXPECT_EQ(round_trip(target, spec), spec);
    server.stop();
  }
  StreamServer from_socket{gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0)), echo};
  from_socket.start();
  EXPECT_EQ(round_trip(from_socket.server_address(), "given"), "given");
  EXPECT_THROW(StreamServer("nonsense", echo).start(), std::invalid_argument);
  EXPECT_THROW(StreamServer("127.0.0.1:0", echo, 0), std::invalid_argument);
  gevent::Pool busy{1};
  busy.spawn([] { gevent::sleep(1ms); });
  EXPECT_THROW(StreamServer("127.0.0.1:0", echo, std::move(busy)), std::invalid_argument);
  busy.join();
  gevent::Pool shared{4};
  StreamServer borrowed{"127.0.0.1:0", echo, shared};
  borrowed.start();
  EXPECT_EQ(round_trip(borrowed.server_address(), "borrowed"), "borrowed");
}

TEST_F(ServerTest, PoolSizeBoundsConcurrentHandlers) {
  int running = 0, peak = 0;
  gevent::Event release;
  StreamServer server{"127.0.0.1:0",
                      [&](gevent::socket& sock, const gevent::address&) {
                        peak = std::max(peak, ++running);
                        release.wait();
                        sock.sendall("done");
                        --running;
                      },
                      2};
  server.start();
  std::vector<gevent::Greenlet<std::string>> clients;
  for (int i = 0; i < 5; ++i)
    clients.push_back(gevent::spawn([&] { return round_trip(server.server_address(), "...."); }));
  gevent::sleep(20ms);
  EXPECT_EQ(running, 2);
  release.set();
  for (auto& c : clients) EXPECT_EQ(c.get(), "done");
  EXPECT_EQ(peak, 2);
}

TEST_F(ServerTest, StopLetsHandlersFinishThenKillsTheRest) {
  bool quick_done = false, slow_killed = false;
  StreamServer server{"127.0.0.1:0", [&](gevent::socket& sock, const gevent::address&) {
                        char c;
                        sock.recv({&c, 1});
                        if (c == 'q') {
                          gevent::sleep(10ms);
                          quick_done = true;
                          return;
                        }
                        try {
                          gevent::sleep(10s);
                        } catch (const gevent::GreenletExit&) {
                          slow_killed = true;
                          throw;
                        }
                      }};
  server.start();
  auto quick = gevent::create_connection(server.server_address(), 1s);
  auto slow = gevent::create_connection(server.server_address(), 1s);
  quick.sendall("q");
  slow.sendall("s");
  gevent::sleep(2ms);
  const auto start = std::chrono::steady_clock::now();
  server.stop(100ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(quick_done);
  EXPECT_TRUE(slow_killed);
  EXPECT_EQ(server.group().size(), 0u);
}

TEST_F(ServerTest, ServeForeverReturnsAfterStopFromAHandler) {
  StreamServer* self = nullptr;
  StreamServer server{"127.0.0.1:0", [&](gevent::socket& sock, const gevent::address&) {
                        sock.sendall("bye");
                        self->stop();
                      }};
  self = &server;
  server.start();
  auto client = gevent::spawn([&] { return round_trip(server.server_address(), "xyz"); });
  server.serve_forever();
  EXPECT_EQ(client.get(), "bye");
}

TEST_F(ServerTest, AHandlerExceptionIsLoggedAndServingGoesOn) {
  std::ostringstream log;
  StreamServer server{"127.0.0.1:0",
                      [](gevent::socket& sock, const gevent::address&) {
                        char c;
                        sock.recv({&c, 1});
                        if (c == '!') throw std::runtime_error("boom");
                        sock.sendall("ok");
                      },
                      {},
                      quiet(log)};
  server.start();
  auto bad = gevent::create_connection(server.server_address(), 1s);
  bad.sendall("!");
  char buf[4];
  EXPECT_EQ(bad.recv(buf), 0u);  // closed after the failure
  EXPECT_EQ(round_trip(server.server_address(), ".."), "ok");
  EXPECT_NE(log.str().find("boom"), std::string::npos) << log.str();
}

TEST_F(ServerTest, BacksOffWhenOutOfFileDescriptorsAndRecovers) {
  std::ostringstream log;
  auto listening = gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0));
  const auto where = listening.getsockname();
  StreamServer server{std::move(listening), echo, {}, quiet(log)};
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  // Connect, then forbid any new fd before the server accepts: the kernel has completed the
  // handshake, accept() fails with EMFILE. The limit caps fd numbers, so it is set to the
  // lowest free one.
  auto client = gevent::create_connection(where, 1s);  // waits in the backlog
  const int lowest_free = ::dup(0);
  ::close(lowest_free);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  server.start();
  gevent::sleep(50ms);  // the server tries, fails, backs off
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_GE(server.accept_errors(), 1u);
  EXPECT_NE(log.str().find("Too many open files"), std::string::npos) << log.str();
  client.sendall("still there");
  auto f = client.makefile();
  EXPECT_EQ(f.read(11), "still there");
}

TEST_F(ServerTest, ThousandConcurrentConnections) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  const int n = static_cast<int>(std::min<rlim_t>(1000, (limit.rlim_cur - 64) / 2));
  StreamServer server{"127.0.0.1:0", echo, gevent::Pool{10000}};
  server.start();
  gevent::Event go;
  std::vector<gevent::Greenlet<bool>> clients;
  for (int i = 0; i < n; ++i)
    clients.push_back(gevent::spawn([&, i] {
      auto c = gevent::create_connection(server.server_address(), 10s);
      go.wait();  // every connection open at once
      const std::string msg = "message " + std::to_string(i);
      c.sendall(msg);
      auto f = c.makefile();
      return f.read(msg.size()) == msg;
    }));
  gevent::sleep(50ms);
  go.set();
  int ok = 0;
  for (auto& c : clients) ok += c.get();
  EXPECT_EQ(ok, n);
}

TEST(ServerThreadsTest, SeveralHubsServeOnePortWithReusePort) {
  const int per_thread = 200;
  std::atomic<int> served[2] = {0, 0};
  std::atomic<int> port{0};
  std::atomic<bool> done{false};
  auto serve = [&](int index) {
    {
      ServerOptions options;
      options.reuse_port = true;
      const std::string where = "127.0.0.1:" + std::to_string(port.load());
      StreamServer server{where,
                          [&, index](gevent::socket& sock, const gevent::address& peer) {
                            ++served[index];
                            echo(sock, peer);
                          },
                          {},
                          options};
      server.start();
      port = server.server_address().port();
      while (!done) gevent::sleep(5ms);
      server.stop();
    }
    gevent::Hub::destroy_current();
  };
  std::thread first(serve, 0);
  while (port == 0) std::this_thread::sleep_for(1ms);
  std::thread second(serve, 1);
  std::this_thread::sleep_for(50ms);
  {
    const auto target = gevent::address::ip("127.0.0.1", static_cast<std::uint16_t>(port.load()));
    for (int i = 0; i < per_thread; ++i) EXPECT_EQ(round_trip(target, "hi"), "hi");
  }
  done = true;
  first.join();
  second.join();
  gevent::Hub::destroy_current();
  EXPECT_EQ(served[0] + served[1], per_thread);
  EXPECT_GT(served[0], 0);
  EXPECT_GT(served[1], 0);
}

TEST_F(ServerTest, ServesTlsAndSurvivesAFailedHandshake) {
  std::ostringstream log;
  ServerOptions options = with_tls(quiet(log));
  options.handshake_timeout = 2s;
  StreamServer server{"127.0.0.1:0", echo, {}, options};
  server.start();

  auto plain = gevent::create_connection(server.server_address(), 2s);
  plain.sendall("this is not a TLS client hello\r\n\r\n");
  char buf[64];
  std::error_code ec;
  plain.recv(buf, ec);  // the server gives up on it and closes
  gevent::ssl::SSLContext client{gevent::ssl::PROTOCOL_TLS_CLIENT};
  client.load_verify_locations(gevent::testing::tls_certs().ca);
  for (int i = 0; i < 3; ++i) {
    auto tls = client.wrap_socket(gevent::create_connection(server.server_address(), 2s), false,
                                  "localhost");
    tls.sendall("over TLS");
    auto f = tls.makefile();
    EXPECT_EQ(f.read(8), "over TLS");
  }
  EXPECT_NE(log.str().find("TLS handshake with 127.0.0.1"), std::string::npos) << log.str();
}

// Silent TCP connections wait for their first byte without taking a slot of the Pool, so a
// real TLS client gets through at once; past max_silent_connections the oldest are closed.
TEST_F(ServerTest, SilentConnectionsDoNotLockTlsClientsOut) {
  std::ostringstream log;
  ServerOptions options = with_tls(quiet(log));
  options.max_silent_connections = 8;
  StreamServer server{"127.0.0.1:0", echo, 4, options};
  server.start();
  std::vector<gevent::socket> silent;
  for (int i = 0; i < 12; ++i) silent.push_back(gevent::create_connection(server.server_address()));
  gevent::sleep(20ms);
  for (int i = 0; i < 4; ++i) {  // pushed out to make room for the last four
    silent[i].settimeout(2s);
    char byte;
    EXPECT_EQ(silent[i].recv({&byte, 1}), 0u) << i;
  }
  gevent::ssl::SSLContext client{gevent::ssl::PROTOCOL_TLS_CLIENT};
  client.load_verify_locations(gevent::testing::tls_certs().ca);
  const auto start = std::chrono::steady_clock::now();
  auto tls = client.wrap_socket(gevent::create_connection(server.server_address(), 2s), false,
                                "localhost");
  tls.sendall("over TLS");
  EXPECT_EQ(tls.makefile().read(8), "over TLS");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_NE(log.str().find("failed: too many silent"), std::string::npos) << log.str();
}

TEST_F(ServerTest, ASilentTlsConnectionIsClosedAfterTheHandshakeTimeout) {
  std::ostringstream log;
  ServerOptions options = with_tls(quiet(log));
  options.handshake_timeout = 150ms;
  StreamServer server{"127.0.0.1:0", echo, {}, options};
  server.start();
  auto silent = gevent::create_connection(server.server_address(), 2s);
  const auto start = std::chrono::steady_clock::now();
  char byte;
  EXPECT_EQ(silent.recv({&byte, 1}), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  EXPECT_NE(log.str().find("failed: silent for handshake_timeout"), std::string::npos) << log.str();
}

TEST_F(ServerTest, DatagramServerEchoes) {
  DatagramServer* self = nullptr;
  DatagramServer server{"127.0.0.1:0", [&](std::string_view data, const gevent::address& peer) {
                          self->sendto(data, peer);
                        }};
  self = &server;
  server.start();
  gevent::socket client(AF_INET, SOCK_DGRAM);
  client.settimeout(2s);
  for (int i = 0; i < 10; ++i) {
    const std::string msg = "datagram " + std::to_string(i);
    client.sendto(msg, server.server_address());
    char buf[64];
    auto [n, from] = client.recvfrom(buf);
    EXPECT_EQ(std::string(buf, n), msg);
    EXPECT_EQ(from, server.server_address());
  }
}

}  // namespace
