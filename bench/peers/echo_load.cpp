// The load generator for bench/echo.sh, the same for every server: C connections, each
// sending a message of S bytes and waiting for all of it to come back, over and over, for
// T seconds (epoll, one thread, no framework, so that it measures the servers and not
// itself). Prints "round_trips_per_s BYTES_PER_S" on one line.
//
//   echo_load PORT CONNECTIONS MESSAGE_BYTES SECONDS
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Conn {
  int fd = -1;
  std::size_t sent = 0;
  std::size_t received = 0;
};

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0) die("connect");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: echo_load PORT CONNECTIONS MESSAGE_BYTES SECONDS\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int count = std::atoi(argv[2]);
  const std::size_t size = std::strtoul(argv[3], nullptr, 10);
  const double seconds = std::atof(argv[4]);
  const std::string message(size, 'm');
  std::vector<char> buf(std::max<std::size_t>(size, 65536));
  std::vector<Conn> conns(count);
  const int ep = ::epoll_create1(0);
  for (int i = 0; i < count; ++i) {
    conns[i].fd = connect_to(port);
    epoll_event ev{EPOLLIN, {.u32 = static_cast<uint32_t>(i)}};
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  // Blocking sends: a message fits in the socket buffer, except the large ones, which
  // the server drains as it echoes.
  long long round_trips = 0;
  auto send_message = [&](Conn& c) {
    for (c.sent = 0; c.sent < size;) {
      const auto n = ::send(c.fd, message.data() + c.sent, size - c.sent, MSG_NOSIGNAL);
      if (n <= 0) die("send");
      c.sent += static_cast<std::size_t>(n);
    }
    c.received = 0;
  };
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  for (auto& c : conns) send_message(c);
  std::vector<epoll_event> events(1024);
  while (std::chrono::steady_clock::now() < end) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      Conn& c = conns[events[i].data.u32];
      const auto got = ::recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got == 0) die("server closed a connection");
      if (got < 0) continue;
      c.received += static_cast<std::size_t>(got);
      if (c.received >= size) {
        ++round_trips;
        send_message(c);
      }
    }
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.0f %.0f\n", round_trips / elapsed, round_trips * 2.0 * size / elapsed);
  for (auto& c : conns) ::close(c.fd);
  return 0;
}
