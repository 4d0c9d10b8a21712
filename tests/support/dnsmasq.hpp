// A real DNS server for tests: dnsmasq (Debian dnsmasq-base) on 127.0.0.1, a child process
// started with the records a test names and stopped (SIGTERM) when this object goes. It also
// dies with the test process (PR_SET_PDEATHSIG), so a test that aborts leaves nothing behind.
//
//   testing::Dnsmasq dns({"--host-record=www.example.test,10.1.2.3", "--local=/test/"});
//   gevent::config().ares_servers = dns.server();   // "127.0.0.1:PORT"
//
// Used before or without any hub: it waits for readiness with plain blocking sockets.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gevent::testing {

// A UDP socket bound to 127.0.0.1 on a free port: a DNS server that never answers. Closed
// when destroyed.
class SilentUdpServer {
 public:
  SilentUdpServer() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof at;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&at), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&at), &len) != 0)
      throw std::runtime_error("SilentUdpServer: cannot bind a UDP socket on 127.0.0.1");
    port_ = ntohs(at.sin_port);
  }
  ~SilentUdpServer() { ::close(fd_); }
  SilentUdpServer(const SilentUdpServer&) = delete;
  SilentUdpServer& operator=(const SilentUdpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  // Whether a datagram (a query) has arrived.
  bool received_something() const {
    char byte;
    return ::recv(fd_, &byte, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
  }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

class Dnsmasq {
 public:
  explicit Dnsmasq(const std::vector<std::string>& records) {
    // A port free now may be taken before dnsmasq binds it (other tests run beside this
    // one): try a few.
    std::string why;
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_udp_and_tcp_port();
      if (start(records, why)) return;
    }
    throw std::runtime_error("Dnsmasq: dnsmasq did not start (Debian's dnsmasq-base): " + why);
  }
  ~Dnsmasq() {
    ::kill(pid_, SIGTERM);
    reap();
  }
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  // dnsmasq listens on both UDP and TCP.
  static std::uint16_t free_udp_and_tcp_port() {
    for (;;) {
      SilentUdpServer udp;
      const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in at{};
      at.sin_family = AF_INET;
      at.sin_port = htons(udp.port());
      at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool free = ::bind(tcp, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0;
      ::close(tcp);
      if (free) return udp.port();
    }
  }

  std::vector<std::string> command(const std::vector<std::string>& records) const {
    std::vector<std::string> args = {"dnsmasq",
                                     "--no-daemon",
                                     "--conf-file=/dev/null",
                                     "--pid-file=",
                                     "--port=" + std::to_string(port_),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts"};
    args.insert(args.end(), records.begin(), records.end());
    return args;
  }

  // Starts dnsmasq with its stderr in a temporary file, and waits until it answers; if it
  // does not, returns false with what it said in `why`.
  bool start(const std::vector<std::string>& records, std::string& why) {
    char log_path[] = "/tmp/gevent-dnsmasq-XXXXXX";
    ::close(::mkstemp(log_path));
    struct Unlink {
      const char* path;
      ~Unlink() { ::unlink(path); }
    } unlink_log{log_path};
    const auto args = command(records);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("Dnsmasq: fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int null = ::open("/dev/null", O_RDWR);
      const int log = ::open(log_path, O_WRONLY);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(log, 2);
      for (const char* path : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"}) ::execv(path, argv.data());
      ::_exit(127);
    }
    if (wait_until_answering()) return true;
    std::ifstream log(log_path);
    why.assign(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
    return false;
  }

  // Sends one A query for "ready.invalid" and waits a little for any answer.
  bool answers() const {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    timeval limit{0, 100'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port_);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const unsigned char query[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0, 0,   0,   0,
                                   0,    5,    'r',  'e',  'a', 'd', 'y', 7, 'i', 'n', 'v',
                                   'a',  'l',  'i',  'd',  0,   0,   1,   0, 1};
    unsigned char reply[512];
    const bool ok = ::sendto(fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&to),
                             sizeof to) == sizeof query &&
                    ::recv(fd, reply, sizeof reply, 0) >= 12 && reply[0] == 0x12 &&
                    reply[1] == 0x34;
    ::close(fd);
    return ok;
  }

  // True once dnsmasq answers; false (and reaped) if it exits or stays silent for 10 s.
  bool wait_until_answering() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!answers()) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return false;
      if (std::chrono::steady_clock::now() > give_up) {
        ::kill(pid_, SIGKILL);
        reap();
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  // A loop's SIGCHLD handling may have reaped it already (ECHILD): that is fine too.
  void reap() const {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace gevent::testing
