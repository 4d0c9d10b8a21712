// Unmodified OpenSSL (blocking SSL_connect, SSL_write, SSL_read on a plain socket fd) and
// Boost.Asio's synchronous calls, each from many greenlets at once, made cooperative by
// gevent::monkey. The servers are gevent StreamServers on the same hub, which answer after a
// delay: a call that blocked the hub would stop them too, and every client would wait in turn.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>
#include <gevent/server.hpp>
#include <gevent/ssl.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// After <utility>: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <boost/asio.hpp>

#include "support/harness.hpp"
#include "support/heartbeat.hpp"
#include "support/tls_certs.hpp"

using namespace std::chrono_literals;
using gevent::testing::Heartbeat;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kReplyDelay = 200ms;
constexpr int kClients = 50;
// A blocked hub shows a gap of a whole reply delay (or never ends); see test_monkey_libraries.
constexpr auto kMaxHeartbeatGap =
    std::max<std::chrono::milliseconds>(gevent::testing::kMaxHeartbeatGap, 100ms);
// Clients in turn would take kClients * kReplyDelay = 10 s.
constexpr auto kConcurrentBound = 3s;

auto elapsed_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// Reads one line, waits kReplyDelay, sends it back.
void slow_echo(gevent::socket& sock, const gevent::address&) {
  std::string line;
  char c = 0;
  std::error_code ec;
  while (sock.recv({&c, 1}, ec) == 1 && c != '\n') line += c;
  gevent::sleep(kReplyDelay);
  sock.sendall(line + "\n", ec);
}

// A StreamServer on a free port of 127.0.0.1 running slow_echo, over TLS or plain TCP.
class SlowEchoServer {
 public:
  explicit SlowEchoServer(bool tls) : server_("127.0.0.1:0", slow_echo, 1000, options(tls)) {
    server_.start();
  }
  ~SlowEchoServer() { server_.stop(); }
  int port() const { return server_.server_address().port(); }

 private:
  static gevent::server::ServerOptions options(bool tls) {
    gevent::server::ServerOptions options;
    if (tls) {
      options.ssl_context.emplace(gevent::ssl::PROTOCOL_TLS_SERVER);
      options.ssl_context->load_cert_chain(gevent::testing::tls_certs().server,
                                           gevent::testing::tls_certs().server_key);
    }
    return options;
  }

  gevent::server::StreamServer server_;
};

// A plain blocking TCP socket connected to `port` on 127.0.0.1, or -1.
int connect_blocking(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class MonkeyTlsAsioTest : public gevent::testing::HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    gevent::monkey::patch_all();
  }
};

// --- OpenSSL ---

using Ssl = std::unique_ptr<SSL, decltype(&SSL_free)>;
using SslContext = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

SslContext verifying_client_context(const std::string& trusted_ca) {
  SslContext context(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_load_verify_locations(context.get(), trusted_ca.c_str(), nullptr);
  return context;
}

// What one client saw: the echoed line, or the step that failed and OpenSSL's error.
std::string tls_round_trip(SSL_CTX* context, int port, const std::string& line) {
  const int fd = connect_blocking(port);
  if (fd < 0) return "connect failed";
  Ssl ssl(SSL_new(context), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  std::string result;
  char buf[256];
  int n = 0;
  if (const int rc = SSL_connect(ssl.get()); rc != 1)
    result = "SSL_connect: error " + std::to_string(SSL_get_error(ssl.get(), rc)) + ", verify " +
             std::to_string(SSL_get_verify_result(ssl.get()));
  else if (SSL_write(ssl.get(), line.data(), static_cast<int>(line.size())) <= 0)
    result = "SSL_write failed";
  else if ((n = SSL_read(ssl.get(), buf, sizeof buf)) <= 0)
    result = "SSL_read: " + std::to_string(SSL_get_error(ssl.get(), n));
  else
    result.assign(buf, static_cast<std::size_t>(n));
  ERR_clear_error();
  SSL_shutdown(ssl.get());
  ::close(fd);
  return result;
}

// One client trusts another CA: its handshake fails while the others' run, and each sees
// only its own outcome (OpenSSL's error queue is the thread's, shared by its greenlets).
TEST_F(MonkeyTlsAsioTest, BlockingOpensslFromFiftyGreenletsAtOnce) {
  SlowEchoServer server(true);
  const SslContext context = verifying_client_context(gevent::testing::tls_certs().ca);
  const SslContext rogue = verifying_client_context(gevent::testing::tls_certs().rogue_ca);
  constexpr int kRogue = kClients / 2;
  Heartbeat heartbeat;
  std::vector<gevent::Greenlet<std::string>> clients;
  const auto start = Clock::now();
  for (int i = 0; i < kClients; ++i)
    clients.push_back(gevent::spawn(tls_round_trip, (i == kRogue ? rogue : context).get(),
                                    server.port(), "client " + std::to_string(i) + "\n"));
  for (int i = 0; i < kClients; ++i) {
    const std::string got = clients[static_cast<std::size_t>(i)].get();
    if (i == kRogue) {
      EXPECT_EQ(got.rfind("SSL_connect: error " + std::to_string(SSL_ERROR_SSL) + ", verify ", 0),
                0u)
          << got;
      EXPECT_EQ(got.find(", verify 0"), std::string::npos) << got;
    } else {
      EXPECT_EQ(got, "client " + std::to_string(i) + "\n");
    }
  }
  const auto took = elapsed_since(start);
  std::printf("%d blocking TLS round trips of 200 ms each: %lld ms\n", kClients,
              static_cast<long long>(took.count()));
  EXPECT_LT(took, kConcurrentBound);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

// A socket the program made non-blocking keeps OpenSSL's non-blocking contract: WANT_READ
// at once, not a wait.
TEST_F(MonkeyTlsAsioTest, OpensslOnANonBlockingSocketStillGetsWantRead) {
  SlowEchoServer server(true);
  const SslContext context = verifying_client_context(gevent::testing::tls_certs().ca);
  const int fd = connect_blocking(server.port());
  ASSERT_GE(fd, 0);
  Ssl ssl(SSL_new(context.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  ASSERT_EQ(SSL_connect(ssl.get()), 1);  // blocking, and cooperative
  ASSERT_EQ(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
  char buf[16];
  const auto start = Clock::now();
  const int n = SSL_read(ssl.get(), buf, sizeof buf);  // the server waits for a line
  EXPECT_EQ(n, -1);
  EXPECT_EQ(SSL_get_error(ssl.get(), n), SSL_ERROR_WANT_READ);
  EXPECT_LT(elapsed_since(start), kReplyDelay);
  ::close(fd);
}

// --- Boost.Asio, synchronous calls ---

std::string asio_round_trip(int port, const std::string& line) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  boost::system::error_code ec;
  sock.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
  if (ec) return "connect: " + ec.message();
  asio::write(sock, asio::buffer(line), ec);
  if (ec) return "write: " + ec.message();
  std::string reply;
  asio::read_until(sock, asio::dynamic_buffer(reply), '\n', ec);
  if (ec) return "read: " + ec.message();
  return reply;
}

TEST_F(MonkeyTlsAsioTest, AsioSynchronousCallsFromFiftyGreenletsAtOnce) {
  SlowEchoServer server(false);
  Heartbeat heartbeat;
  std::vector<gevent::Greenlet<std::string>> clients;
  const auto start = Clock::now();
  for (int i = 0; i < kClients; ++i)
    clients.push_back(
        gevent::spawn(asio_round_trip, server.port(), "client " + std::to_string(i) + "\n"));
  for (int i = 0; i < kClients; ++i)
    EXPECT_EQ(clients[static_cast<std::size_t>(i)].get(), "client " + std::to_string(i) + "\n");
  const auto took = elapsed_since(start);
  std::printf("%d Asio synchronous round trips of 200 ms each: %lld ms\n", kClients,
              static_cast<long long>(took.count()));
  EXPECT_LT(took, kConcurrentBound);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

}  // namespace
