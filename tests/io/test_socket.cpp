// gevent::socket, address, makefile and the raw-fd waits, over real loopback sockets.
#include <gevent/gevent.hpp>
#include <gevent/socket.hpp>
#include <gevent/socket_file.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class SocketTest : public HubTest {};

gevent::socket listener(const char* host = "127.0.0.1") {
  return gevent::listen_tcp(gevent::address::ip(host, 0));
}

// A connected pair over loopback TCP.
std::pair<gevent::socket, gevent::socket> tcp_pair() {
  auto server = listener();
  auto client = gevent::create_connection(server.getsockname(), 5s);
  auto [conn, peer] = server.accept();
  EXPECT_EQ(peer, client.getsockname());
  return {std::move(client), std::move(conn)};
}

TEST(AddressTest, ParsesTheListenerForms) {
  EXPECT_EQ(gevent::address::parse("127.0.0.1:8000").to_string(), "127.0.0.1:8000");
  EXPECT_EQ(gevent::address::parse("[::1]:80").to_string(), "[::1]:80");
  EXPECT_EQ(gevent::address::parse(":6000").to_string(), "0.0.0.0:6000");
  EXPECT_EQ(gevent::address::parse("[::1]:80").family(), AF_INET6);
  EXPECT_EQ(gevent::address::unix_path("/tmp/x.sock").to_string(), "/tmp/x.sock");
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "::1:80", "[::1]80",
                          "localhost:80", "1.2.3.4:-1", "1.2.3.4:8x"})
    EXPECT_THROW(gevent::address::parse(bad), std::invalid_argument) << bad;
  EXPECT_THROW(gevent::address::unix_path(std::string(200, 'a')), std::invalid_argument);
}

// Python and gevent: create_connection without a timeout uses the default timeout.
TEST_F(SocketTest, CreateConnectionWithoutATimeoutTakesTheDefault) {
  auto server = gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0));
  gevent::setdefaulttimeout(250ms);
  auto with_default = gevent::create_connection(server.getsockname());
  auto with_own = gevent::create_connection(server.getsockname(), 2s);
  gevent::setdefaulttimeout({});
  auto without = gevent::create_connection(server.getsockname());
  ASSERT_TRUE(with_default.gettimeout());
  EXPECT_EQ(with_default.gettimeout().value(), gevent::Duration(250ms));
  ASSERT_TRUE(with_own.gettimeout());
  EXPECT_EQ(with_own.gettimeout().value(), gevent::Duration(2s));
  EXPECT_FALSE(without.gettimeout());
}

// Python and gevent: an accepted socket gets the default timeout, not the listener's.
TEST_F(SocketTest, AnAcceptedSocketTakesTheDefaultTimeoutNotTheListeners) {
  auto server = gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0));
  server.settimeout(5s);
  auto first = gevent::create_connection(server.getsockname(), 5s);
  EXPECT_FALSE(server.accept().first.gettimeout());
  gevent::setdefaulttimeout(250ms);
  auto second = gevent::create_connection(server.getsockname(), 5s);
  auto [conn, peer] = server.accept();
  gevent::setdefaulttimeout({});
  ASSERT_TRUE(conn.gettimeout());
  EXPECT_EQ(conn.gettimeout().value(), gevent::Duration(250ms));
}

TEST_F(SocketTest, AnEmptySocketReportsBadFileDescriptor) {
  gevent::socket empty;
  std::error_code ec;
  EXPECT_FALSE(empty.accept(ec).first.is_open());
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  char buf[4];
  EXPECT_EQ(empty.recv(buf, ec), 0u);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  EXPECT_THROW(empty.accept(), std::system_error);
  EXPECT_THROW(empty.sendall("x"), std::system_error);
  EXPECT_EQ(empty.detach(), -1);
  empty.close();
}

TEST_F(SocketTest, EchoesOverLoopbackWhileOtherGreenletsRun) {
  auto server = listener();
  auto echo = gevent::spawn([&] {
    auto [conn, peer] = server.accept();
    char buf[1024];
    while (size_t n = conn.recv(buf)) conn.sendall({buf, n});
  });
  int ticks = 0;
  auto ticker = gevent::spawn([&] {
    for (int i = 0; i < 5; ++i, ++ticks) gevent::sleep(1ms);
  });
  auto client = gevent::create_connection("127.0.0.1", server.getsockname().port(), 5s);
  client.sendall("hello");
  std::string got(5, '\0');
  auto f = client.makefile();
  EXPECT_EQ(f.read(5), "hello");
  client.shutdown(SHUT_WR);
  EXPECT_EQ(f.read(1), "");  // the server saw end of stream and closed
  echo.join();
  ticker.join();
  EXPECT_EQ(ticks, 5);
}

TEST_F(SocketTest, RecvTimesOutWithTheSocketTimeout) {
  auto [a, b] = tcp_pair();
  a.settimeout(20ms);
  char buf[16];
  std::error_code ec;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(a.recv(buf, ec), 0u);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 15ms);
  try {
    a.recv(buf);
    FAIL() << "recv did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
  }
}

TEST_F(SocketTest, ZeroTimeoutIsNonBlocking) {
  auto [a, b] = tcp_pair();
  a.setblocking(false);
  char buf[16];
  std::error_code ec;
  a.recv(buf, ec);
  EXPECT_EQ(ec, std::errc::operation_would_block);
  b.sendall("x");
  gevent::wait_read(a.fileno(), 1s);
  EXPECT_EQ(a.recv(buf), 1u);
}

// A short read marks the socket drained (the next recv waits for the edge first); data that
// comes later must still be seen, by a blocking recv and by a non-blocking one.
TEST_F(SocketTest, DataAfterAShortReadIsSeen) {
  auto [a, b] = tcp_pair();
  char buf[16];
  b.sendall("x");
  EXPECT_EQ(a.recv(buf), 1u);
  auto late = gevent::spawn_later(5ms, [&b = b] { b.sendall("y"); });
  EXPECT_EQ(a.recv(buf), 1u);
  a.setblocking(false);
  b.sendall("z");
  gevent::wait_read(a.fileno(), 1s);
  EXPECT_EQ(a.recv(buf), 1u);
  EXPECT_EQ(buf[0], 'z');
  late.join();
}

// The peer's last bytes and its FIN reported in one edge: the short read that takes the
// bytes must not make the next recv wait for an edge that never comes (it returns 0).
TEST_F(SocketTest, EndOfStreamAfterAShortReadIsSeen) {
  auto [a, b] = tcp_pair();
  a.settimeout(2s);
  char buf[16];
  auto reader = gevent::spawn([&a = a, &buf] { return a.recv(buf); });
  gevent::sleep(1ms);  // the reader waits in the reactor
  b.sendall("last");
  b.close();
  EXPECT_EQ(reader.get(), 4u);
  std::error_code ec;
  EXPECT_EQ(a.recv(buf, ec), 0u);
  EXPECT_FALSE(ec) << ec.message();
}

TEST_F(SocketTest, EnclosingTimeoutInterruptsARecv) {
  auto [a, b] = tcp_pair();
  char buf[16];
  gevent::Timeout limit(10ms);
  EXPECT_THROW(a.recv(buf), gevent::Timeout);
}

TEST_F(SocketTest, CloseWakesAGreenletWaitingOnTheSocket) {
  auto [a, b] = tcp_pair();
  auto reader = gevent::spawn([&a = a] {
    char buf[16];
    std::error_code ec;
    a.recv(buf, ec);
    return ec;
  });
  gevent::sleep(5ms);
  a.close();
  const auto ec = reader.get();
  EXPECT_EQ(ec, gevent::io_errc::closed_in_another_greenlet);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  EXPECT_EQ(a.fileno(), -1);
}

TEST_F(SocketTest, TwoReadersAtOnceIsAConcurrentUseError) {
  auto [a, b] = tcp_pair();
  auto reader = gevent::spawn([&a = a] {
    char buf[16];
    return a.recv(buf);
  });
  gevent::sleep(1ms);
  char buf[16];
  EXPECT_THROW(a.recv(buf), gevent::ConcurrentObjectUseError);
  b.sendall("z");
  EXPECT_EQ(reader.get(), 1u);
}

TEST_F(SocketTest, SendallBlocksOnAFullBufferUntilThePeerReads) {
  auto [a, b] = tcp_pair();
  const std::string big(16 << 20, 'x');  // more than loopback's socket buffers hold
  auto writer = gevent::spawn([&a = a, &big] { a.sendall(big); });
  std::string got;
  char buf[65536];
  while (got.size() < big.size()) got.append(buf, b.recv(buf));
  writer.join();
  EXPECT_EQ(got, big);
}

TEST_F(SocketTest, SendallTimeoutBoundsTheWholeCall) {
  auto [a, b] = tcp_pair();
  a.settimeout(30ms);
  std::error_code ec;
  std::size_t sent = 0;
  a.sendall(std::string(64 << 20, 'y'), 0, ec, &sent);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_GT(sent, 0u);
}

TEST_F(SocketTest, ConnectRefusedReportsTheErrno) {
  auto probe = listener();
  const auto addr = probe.getsockname();
  probe.close();
  gevent::socket s(AF_INET, SOCK_STREAM);
  EXPECT_EQ(s.connect_ex(addr), ECONNREFUSED);
  EXPECT_THROW(gevent::create_connection(addr, 1s), std::system_error);
}

TEST_F(SocketTest, ResetMidStreamIsAnErrorNotAHang) {
  auto [a, b] = tcp_pair();
  linger hard{1, 0};
  b.setsockopt(SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  b.close();  // RST
  char buf[16];
  std::error_code ec;
  a.recv(buf, ec);
  EXPECT_EQ(ec, std::errc::connection_reset);
}

TEST_F(SocketTest, UdpSendtoAndRecvfrom) {
  gevent::socket server(AF_INET, SOCK_DGRAM);
  server.bind(gevent::address::ip("127.0.0.1", 0));
  gevent::socket client(AF_INET, SOCK_DGRAM);
  client.bind(gevent::address::ip("127.0.0.1", 0));
  auto replier = gevent::spawn([&] {
    char buf[512];
    auto [n, from] = server.recvfrom(buf);
    server.sendto({buf, n}, from);
  });
  client.sendto("datagram", server.getsockname());
  char buf[512];
  client.settimeout(2s);
  auto [n, from] = client.recvfrom(buf);
  EXPECT_EQ(std::string(buf, n), "datagram");
  EXPECT_EQ(from, server.getsockname());
  replier.join();
}

TEST_F(SocketTest, Ipv6AndUnixSockets) {
  auto server6 = listener("::1");
  auto client6 = gevent::create_connection(server6.getsockname(), 2s);
  auto [conn6, peer6] = server6.accept();
  EXPECT_EQ(peer6.family(), AF_INET6);

  char path[] = "/tmp/gevent-test-XXXXXX";
  ASSERT_NE(::mkdtemp(path), nullptr);
  const std::string sock_path = std::string(path) + "/s";
  gevent::socket unix_server(AF_UNIX, SOCK_STREAM);
  unix_server.bind(gevent::address::unix_path(sock_path));
  unix_server.listen();
  gevent::socket unix_client(AF_UNIX, SOCK_STREAM);
  unix_client.connect(gevent::address::unix_path(sock_path));
  auto [conn, peer] = unix_server.accept();
  unix_client.sendall("over unix");
  char buf[32];
  EXPECT_EQ(std::string(buf, conn.recv(buf)), "over unix");
  EXPECT_EQ(unix_server.getsockname().host(), sock_path);
  ::unlink(sock_path.c_str());
  ::rmdir(path);
}

TEST_F(SocketTest, MakefileReadlineHonoursTheLimit) {
  auto [a, b] = tcp_pair();
  b.sendall("first line\nsecond\nno newline at end");
  b.shutdown(SHUT_WR);
  auto f = a.makefile(4);  // a tiny buffer: lines span several recvs
  EXPECT_EQ(f.readline(), "first line\n");
  EXPECT_EQ(f.readline(3), "sec");
  EXPECT_EQ(f.readline(), "ond\n");
  EXPECT_EQ(f.read_all(), "no newline at end");
  EXPECT_EQ(f.readline(), "");
  f.write("buffered ");
  f.write("reply");
  f.flush();
  char buf[32];
  EXPECT_EQ(std::string(buf, b.recv(buf)), "buffered reply");
}

TEST_F(SocketTest, SendfileSendsARegionOfAFile) {
  char path[] = "/tmp/gevent-sendfile-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  std::string content;
  for (int i = 0; i < 100000; ++i) content += static_cast<char>('a' + i % 26);
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  auto [a, b] = tcp_pair();
  auto sender = gevent::spawn([&a = a, fd] { return a.sendfile(fd, 10, 50000); });
  std::string got;
  char buf[65536];
  while (got.size() < 50000) got.append(buf, b.recv(buf));
  EXPECT_EQ(sender.get(), 50000u);
  EXPECT_EQ(got, content.substr(10, 50000));
  ::close(fd);
}

TEST_F(SocketTest, WaitReadTimesOutAndCancelWaitWakesIt) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  try {
    gevent::wait_read(fds[0], 5ms);
    ADD_FAILURE() << "wait_read did not time out";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
  }
  auto waiter = gevent::spawn([&] {
    try {
      gevent::wait_read(fds[0]);
    } catch (const std::system_error& e) {
      return e.code();
    }
    return std::error_code();
  });
  gevent::sleep(1ms);
  EXPECT_EQ(gevent::cancel_wait(fds[0]), 1);
  EXPECT_EQ(waiter.get(), std::errc::operation_canceled);
  gevent::wait_write(fds[1], 1s);  // an empty pipe is writable at once
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(SocketTest, ManyConcurrentConnections) {
  auto server = listener();
  const int n = 200;
  auto acceptor = gevent::spawn([&] {
    std::vector<gevent::Greenlet<void>> handlers;
    for (int i = 0; i < n; ++i) {
      auto [conn, peer] = server.accept();
      handlers.push_back(gevent::spawn([c = std::move(conn)]() mutable {
        char buf[64];
        while (size_t k = c.recv(buf)) c.sendall({buf, k});
      }));
    }
    gevent::joinall(handlers);
  });
  std::vector<gevent::Greenlet<bool>> clients;
  for (int i = 0; i < n; ++i)
    clients.push_back(gevent::spawn([&, i] {
      auto c = gevent::create_connection(server.getsockname(), 5s);
      const std::string msg = "client " + std::to_string(i);
      c.sendall(msg);
      std::string got(msg.size(), '\0');
      auto f = c.makefile();
      return f.read(msg.size()) == msg;
    }));
  for (auto& c : clients) EXPECT_TRUE(c.get());
  acceptor.join();
}

}  // namespace
