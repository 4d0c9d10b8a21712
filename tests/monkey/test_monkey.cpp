// gevent::monkey: the hooked libc calls keep the libc contract and wait only their greenlet.
// Plain libc calls throughout, as an unmodified library would make them, on real sockets,
// pipes and processes.
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"
#include "support/heartbeat.hpp"
#include "support/pipe.hpp"

using namespace std::chrono_literals;
using gevent::testing::Heartbeat;
using gevent::testing::kMaxHeartbeatGap;
using gevent::testing::Pipe;
using Clock = std::chrono::steady_clock;

namespace {

auto elapsed_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

struct SocketPair {
  int a = -1, b = -1;
  explicit SocketPair(int type = SOCK_STREAM) {
    int fds[2];
    if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

// A loopback TCP listener on an ephemeral port.
struct Listener {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  Listener() {
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
      std::abort();
  }
  ~Listener() { ::close(fd); }
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&address); }
};

class MonkeyTest : public gevent::testing::HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    gevent::monkey::patch_all();
  }
};

TEST_F(MonkeyTest, ReportsWhatIsPatchedAndTheOriginals) {
  EXPECT_TRUE(gevent::monkey::is_patched("recv"));
  EXPECT_TRUE(gevent::monkey::is_patched("nanosleep"));
  EXPECT_FALSE(gevent::monkey::is_patched("open"));  // regular files pass through
  EXPECT_TRUE(gevent::monkey::is_module_patched("socket"));
  EXPECT_FALSE(gevent::monkey::is_module_patched("thread"));
  auto* original = gevent::monkey::get_original<ssize_t(int, void*, size_t, int)>("recv");
  ASSERT_NE(original, nullptr);
  EXPECT_NE(reinterpret_cast<void*>(original), reinterpret_cast<void*>(&::recv));
  EXPECT_EQ(gevent::monkey::get_original("no_such_function"), nullptr);
}

TEST_F(MonkeyTest, BlockingRecvWaitsOnlyItsGreenlet) {
  SocketPair pair;
  Heartbeat heartbeat;
  auto reader = gevent::spawn([&] {
    char buf[16];
    const ssize_t n = ::recv(pair.a, buf, sizeof buf, 0);
    return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
  });
  gevent::sleep(100ms);
  EXPECT_FALSE(reader.ready());
  ASSERT_EQ(::send(pair.b, "hello", 5, 0), 5);
  EXPECT_EQ(reader.get(), "hello");
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
  EXPECT_EQ(::fcntl(pair.a, F_GETFL) & O_NONBLOCK, 0) << "the hooks left O_NONBLOCK set";
}

TEST_F(MonkeyTest, ReadAndWriteOnSocketsAndPipesAreCooperative) {
  SocketPair pair;
  Pipe pipe;
  auto socket_reader = gevent::spawn([&] {
    char c = 0;
    return ::read(pair.a, &c, 1) == 1 ? c : '?';
  });
  auto pipe_reader = gevent::spawn([&] {
    char c = 0;
    return ::read(pipe.r, &c, 1) == 1 ? c : '?';
  });
  gevent::sleep(50ms);
  EXPECT_FALSE(socket_reader.ready());
  EXPECT_FALSE(pipe_reader.ready());
  ASSERT_EQ(::write(pair.b, "s", 1), 1);
  ASSERT_EQ(::write(pipe.w, "p", 1), 1);
  EXPECT_EQ(socket_reader.get(), 's');
  EXPECT_EQ(pipe_reader.get(), 'p');
}

// A blocking write bigger than the pipe's buffer waits for the reader, and every byte arrives
// in order.
TEST_F(MonkeyTest, LargePipeWriteWaitsForTheReader) {
  Pipe pipe;
  std::string sent(1 << 20, '\0');
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 7);
  auto writer = gevent::spawn([&] { return ::write(pipe.w, sent.data(), sent.size()); });
  std::string received;
  char buf[65536];
  while (received.size() < sent.size()) {
    const ssize_t n = ::read(pipe.r, buf, sizeof buf);
    ASSERT_GT(n, 0);
    received.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(writer.get(), static_cast<ssize_t>(sent.size()));
  EXPECT_TRUE(received == sent);
}

TEST_F(MonkeyTest, NonBlockingSocketsStillGetEagain) {
  SocketPair pair(SOCK_STREAM | SOCK_NONBLOCK);
  char c;
  EXPECT_EQ(::recv(pair.a, &c, 1, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_NE(::fcntl(pair.a, F_GETFL) & O_NONBLOCK, 0);
  SocketPair other;
  int on = 1;
  ASSERT_EQ(::ioctl(other.a, FIONBIO, &on), 0);
  EXPECT_EQ(::read(other.a, &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_NE(::fcntl(other.a, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(::recv(other.b, &c, 1, MSG_DONTWAIT), -1);  // per call, on a blocking socket
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(MonkeyTest, ReceiveTimeoutGivesEagainAfterIt) {
  SocketPair pair;
  timeval limit{0, 100'000};
  ASSERT_EQ(::setsockopt(pair.a, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit), 0);
  Heartbeat heartbeat;
  char buf[8];
  const auto start = Clock::now();
  EXPECT_EQ(::recv(pair.a, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_GE(elapsed_since(start), 95ms);
  // MSG_WAITALL with part of it there: the part, once the timeout passes.
  ASSERT_EQ(::send(pair.b, "abc", 3, 0), 3);
  EXPECT_EQ(::recv(pair.a, buf, sizeof buf, MSG_WAITALL), 3);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

TEST_F(MonkeyTest, WaitAllCollectsTheWholeBuffer) {
  SocketPair pair;
  auto sender = gevent::spawn([&] {
    for (const char* part : {"ab", "cd", "ef"}) {
      gevent::sleep(10ms);
      ::send(pair.b, part, 2, 0);
    }
  });
  char buf[6];
  EXPECT_EQ(::recv(pair.a, buf, sizeof buf, MSG_WAITALL), 6);
  EXPECT_EQ(std::string(buf, 6), "abcdef");
  sender.join();
}

TEST_F(MonkeyTest, CloseAndDup2UnderAWaiterWakeItWithEbadf) {
  for (const bool use_dup2 : {false, true}) {
    SocketPair pair;
    Pipe spare;
    auto reader = gevent::spawn([&] {
      char c;
      const ssize_t n = ::recv(pair.a, &c, 1, 0);
      return n < 0 ? errno : 0;
    });
    gevent::sleep(20ms);
    if (use_dup2) {
      ASSERT_EQ(::dup2(spare.r, pair.a), pair.a);  // pair.a is now the pipe's read end
    } else {
      ::close(pair.a);
      pair.a = -1;
    }
    EXPECT_EQ(reader.get(1s), EBADF) << (use_dup2 ? "dup2" : "close");
  }
}

// 4 MiB does not fit a socket's buffer: a sendfile that blocked the hub would wait forever
// for the reader, which runs on the same hub.
TEST_F(MonkeyTest, SendfileToASocketWaitsOnlyItsGreenlet) {
  constexpr std::size_t kSize = 4 << 20;
  char path[] = "/tmp/gevent-sendfile-XXXXXX";
  const int file = ::mkstemp(path);
  ASSERT_GE(file, 0);
  ::unlink(path);
  std::string content(kSize, '\0');
  for (std::size_t i = 0; i < kSize; ++i) content[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(::pwrite(file, content.data(), kSize, 0), static_cast<ssize_t>(kSize));
  SocketPair pair;
  Heartbeat heartbeat;
  auto reader = gevent::spawn([&] {
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(pair.a, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
    return got;
  });
  off_t offset = 0;
  EXPECT_EQ(::sendfile(pair.b, file, &offset, kSize), static_cast<ssize_t>(kSize));
  EXPECT_EQ(offset, static_cast<off_t>(kSize));
  EXPECT_EQ(::fcntl(pair.b, F_GETFL) & O_NONBLOCK, 0) << "the hook left O_NONBLOCK set";
  ::shutdown(pair.b, SHUT_WR);
  EXPECT_TRUE(reader.get() == content) << "the bytes differ";
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
  ::close(file);
}

// recvmmsg without MSG_WAITFORONE waits for all its messages; sendmmsg sends all of its.
TEST_F(MonkeyTest, SendmmsgAndRecvmmsgWaitOnlyTheirGreenlet) {
  SocketPair pair(SOCK_DGRAM);
  Heartbeat heartbeat;
  auto receiver = gevent::spawn([&] {
    char bufs[3][16];
    iovec iov[3];
    mmsghdr messages[3]{};
    for (int i = 0; i < 3; ++i) {
      iov[i] = {bufs[i], sizeof bufs[i]};
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(pair.a, messages, 3, 0, nullptr);
    std::string got = std::to_string(n) + ":";
    for (int i = 0; i < std::max(n, 0); ++i) got += std::string(bufs[i], messages[i].msg_len);
    return got;
  });
  for (const char* part : {"one", "two", "six"}) {
    gevent::sleep(20ms);
    iovec iov{const_cast<char*>(part), 3};
    mmsghdr message{};
    message.msg_hdr.msg_iov = &iov;
    message.msg_hdr.msg_iovlen = 1;
    ASSERT_EQ(::sendmmsg(pair.b, &message, 1, 0), 1);
  }
  EXPECT_EQ(receiver.get(), "3:onetwosix");

  receiver = gevent::spawn([&] {
    char buf[16];
    iovec iov{buf, sizeof buf};
    mmsghdr messages[2]{};
    messages[0].msg_hdr.msg_iov = &iov;
    messages[0].msg_hdr.msg_iovlen = 1;
    messages[1] = messages[0];
    const int n = ::recvmmsg(pair.a, messages, 2, MSG_WAITFORONE, nullptr);
    return std::to_string(n) + ":" + std::string(buf, n > 0 ? messages[0].msg_len : 0);
  });
  gevent::sleep(20ms);
  ASSERT_EQ(::send(pair.b, "ten", 3, 0), 3);
  EXPECT_EQ(receiver.get(), "1:ten");
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

TEST_F(MonkeyTest, ConnectAndAcceptAreCooperative) {
  Listener listener;
  Heartbeat heartbeat;
  auto server = gevent::spawn([&] {
    const int conn = ::accept(listener.fd, nullptr, nullptr);
    char c = 0;
    ::read(conn, &c, 1);
    ::close(conn);
    return c;
  });
  gevent::sleep(30ms);
  EXPECT_FALSE(server.ready());
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(client, listener.addr(), sizeof listener.address), 0);
  EXPECT_EQ(::fcntl(client, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(::fcntl(listener.fd, F_GETFL) & O_NONBLOCK, 0);
  ASSERT_EQ(::write(client, "z", 1), 1);
  EXPECT_EQ(server.get(), 'z');
  ::close(client);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

TEST_F(MonkeyTest, ConnectRefusedIsEconnrefused) {
  sockaddr_in closed{};
  {
    Listener gone;  // a port that was just free
    closed = gone.address;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&closed), sizeof closed), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  ::close(fd);
}

// A Unix listener whose backlog is full (listen(0) with one connection waiting).
struct FullUnixListener {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int waiting = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  FullUnixListener() {
    address.sun_family = AF_UNIX;  // abstract: nothing to unlink
    std::snprintf(address.sun_path + 1, sizeof address.sun_path - 1, "gevent-full-%d", getpid());
    if (::bind(fd, addr(), sizeof address) != 0 || ::listen(fd, 0) != 0 ||
        ::connect(waiting, addr(), sizeof address) != 0)
      std::abort();
  }
  ~FullUnixListener() {
    ::close(waiting);
    ::close(fd);
  }
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&address); }
};

int unix_socket_with_send_timeout(std::chrono::microseconds timeout) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const timeval tv{0, static_cast<suseconds_t>(timeout.count())};
  EXPECT_EQ(::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
  return fd;
}

// A blocking connect to a full Unix backlog waits for room, up to SO_SNDTIMEO (then EAGAIN,
// as the original call), and only its greenlet waits.
TEST_F(MonkeyTest, ConnectToAFullUnixBacklogWaitsUpToTheSendTimeout) {
  FullUnixListener listener;
  auto* original = gevent::monkey::get_original<int(int, const sockaddr*, socklen_t)>("connect");
  const int plain = unix_socket_with_send_timeout(100ms);
  auto start = Clock::now();
  EXPECT_EQ(original(plain, listener.addr(), sizeof listener.address), -1);
  const int original_errno = errno;
  EXPECT_GE(Clock::now() - start, 90ms);
  ::close(plain);

  Heartbeat heartbeat;
  const int hooked = unix_socket_with_send_timeout(100ms);
  start = Clock::now();
  EXPECT_EQ(::connect(hooked, listener.addr(), sizeof listener.address), -1);
  EXPECT_EQ(errno, original_errno);
  EXPECT_EQ(errno, EAGAIN);
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 300ms);
  ::close(hooked);

  // Without a timeout it waits until the listener makes room.
  auto accepter = gevent::spawn([&] {
    gevent::sleep(50ms);
    return ::accept(listener.fd, nullptr, nullptr);
  });
  const int patient = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  start = Clock::now();
  EXPECT_EQ(::connect(patient, listener.addr(), sizeof listener.address), 0);
  EXPECT_GE(Clock::now() - start, 45ms);
  const int accepted = accepter.get();
  EXPECT_GE(accepted, 0);
  ::close(accepted);
  ::close(patient);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

TEST_F(MonkeyTest, SleepsWaitOnlyTheirGreenlet) {
  // TSan makes a fiber per greenlet, slowly: fewer there, so that starting them all does not
  // itself hold the hub for longer than the heartbeat allows.
  constexpr int kSleepers = GEVENT_TSAN ? 100 : 1000;
  std::vector<gevent::Greenlet<void>> sleepers;
  const auto start = Clock::now();
  for (int i = 0; i < kSleepers; ++i)
    sleepers.push_back(gevent::spawn([] { std::this_thread::sleep_for(100ms); }));
  sleepers.push_back(gevent::spawn([] { ::usleep(100'000); }));
  sleepers.push_back(gevent::spawn([] { ::poll(nullptr, 0, 100); }));
  sleepers.push_back(gevent::spawn([] {
    timeval tv{0, 100'000};
    ::select(0, nullptr, nullptr, nullptr, &tv);
  }));
  sleepers.push_back(gevent::spawn([] {
    timespec at;
    ::clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_nsec += 100'000'000;
    if (at.tv_nsec >= 1'000'000'000) {
      at.tv_nsec -= 1'000'000'000;
      ++at.tv_sec;
    }
    ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
  }));
  Heartbeat heartbeat;  // from here on every sleeper waits
  gevent::joinall(sleepers);
  const auto took = elapsed_since(start);
  EXPECT_GE(took, 95ms);
  EXPECT_LT(took, 2s) << "the sleeps of 100 ms each ran one after another";
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

// gevent's rule: a poll that finds nothing with a zero timeout still lets the others run.
TEST_F(MonkeyTest, SpinningZeroTimeoutPollDoesNotStarveTheHub) {
  SocketPair pair;
  bool stop = false;
  auto stopper = gevent::spawn([&] {
    gevent::sleep(20ms);
    stop = true;
  });
  int polls = 0;
  pollfd p{pair.a, POLLIN, 0};
  while (!stop) {
    ASSERT_EQ(::poll(&p, 1, 0), 0);
    ++polls;
  }
  stopper.join();
  EXPECT_GT(polls, 0);
}

TEST_F(MonkeyTest, PollSelectAndEpollWaitForReadiness) {
  SocketPair pair;
  Heartbeat heartbeat;
  auto writer = gevent::spawn([&] {
    gevent::sleep(50ms);
    ::send(pair.b, "x", 1, 0);
  });
  pollfd p{pair.a, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 5000), 1);
  EXPECT_EQ(p.revents, POLLIN);
  writer.join();
  char c;
  ASSERT_EQ(::recv(pair.a, &c, 1, 0), 1);

  writer = gevent::spawn([&] {
    gevent::sleep(50ms);
    ::send(pair.b, "y", 1, 0);
  });
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(pair.a, &readable);
  timeval tv{5, 0};
  EXPECT_EQ(::select(pair.a + 1, &readable, nullptr, nullptr, &tv), 1);
  EXPECT_TRUE(FD_ISSET(pair.a, &readable));
  EXPECT_LT(tv.tv_sec, 5);  // Linux leaves the time not slept
  writer.join();
  ASSERT_EQ(::recv(pair.a, &c, 1, 0), 1);

  const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{EPOLLIN, {.fd = pair.a}};
  ASSERT_EQ(::epoll_ctl(epfd, EPOLL_CTL_ADD, pair.a, &ev), 0);
  writer = gevent::spawn([&] {
    gevent::sleep(50ms);
    ::send(pair.b, "z", 1, 0);
  });
  epoll_event got{};
  EXPECT_EQ(::epoll_wait(epfd, &got, 1, 5000), 1);
  EXPECT_EQ(got.data.fd, pair.a);
  EXPECT_EQ(::epoll_wait(epfd, &got, 1, 30), 1);  // level-triggered: still readable
  writer.join();
  ::close(epfd);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
  // A timeout with nothing ready: 0, as the original.
  pollfd quiet{pair.b, POLLIN, 0};
  EXPECT_EQ(::poll(&quiet, 1, 20), 0);
}

TEST_F(MonkeyTest, KillInsideAHookedCallFailsItThenThrowsAtTheNextSwitch) {
  SocketPair pair;
  int seen_errno = 0;
  bool after_switch_point = false;
  auto victim = gevent::spawn([&] {
    char c;
    const ssize_t n = ::recv(pair.a, &c, 1, 0);  // C code: must not unwind through here
    seen_errno = n < 0 ? errno : 0;
    gevent::sleep(0s);  // the next switch point in C++: GreenletExit is thrown here
    after_switch_point = true;
  });
  gevent::sleep(20ms);
  victim.kill();
  EXPECT_TRUE(victim.dead());
  EXPECT_EQ(seen_errno, ECANCELED);
  EXPECT_FALSE(after_switch_point);
}

TEST_F(MonkeyTest, WithTimeoutThrowsAsTheHookedCallReturns) {
  SocketPair pair;
  int seen_errno = 0;
  EXPECT_THROW(gevent::with_timeout(30ms,
                                    [&] {
                                      char c;
                                      if (::recv(pair.a, &c, 1, 0) < 0) seen_errno = errno;
                                    }),
               gevent::Timeout);
  EXPECT_EQ(seen_errno, ECANCELED);
  // A sleep ends early with success, and the Timeout follows it.
  const auto start = Clock::now();
  EXPECT_FALSE(gevent::try_with_timeout(30ms, [] { ::usleep(5'000'000); }));
  EXPECT_LT(elapsed_since(start), 2s);
}

// A thread without a hub gets the original calls: its blocking read blocks it, and only it.
TEST_F(MonkeyTest, ThreadsWithoutAHubAreUntouched) {
  Pipe pipe;
  std::string got;
  std::thread plain([&] {
    char buf[4];
    const ssize_t n = ::read(pipe.r, buf, sizeof buf);
    got.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
  });
  ::usleep(20'000);  // cooperative here: the main greenlet's hub
  ASSERT_EQ(::write(pipe.w, "abc", 3), 3);
  plain.join();
  EXPECT_EQ(got, "abc");
}

TEST_F(MonkeyTest, GetaddrinfoFromManyGreenletsAtOnce) {
  Heartbeat heartbeat;
  std::vector<gevent::Greenlet<int>> lookups;
  for (int i = 0; i < 20; ++i)
    lookups.push_back(gevent::spawn([] {
      addrinfo* found = nullptr;
      const int rc = ::getaddrinfo("localhost", "http", nullptr, &found);
      if (found) ::freeaddrinfo(found);
      return rc;
    }));
  for (auto& lookup : lookups) EXPECT_EQ(lookup.get(), 0);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

// A child started with posix_spawn (fork is not possible under TSan): waitid for it waits
// only the calling greenlet, and its siginfo says how the child ended, as the original's.
pid_t spawn_shell(const char* script) {
  const char* argv[] = {"sh", "-c", script, nullptr};
  pid_t pid = -1;
  EXPECT_EQ(::posix_spawnp(&pid, "sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  return pid;
}

TEST_F(MonkeyTest, WaitidForOneChildIsCooperative) {
  Heartbeat heartbeat;
  const pid_t exits = spawn_shell("sleep 0.3; exit 3");
  const pid_t killed = spawn_shell("sleep 0.3; kill -TERM $$");
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(exits), &info, WEXITED), 0);
  EXPECT_EQ(info.si_pid, exits);
  EXPECT_EQ(info.si_signo, SIGCHLD);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_status, 3);
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(killed), &info, WEXITED), 0);
  EXPECT_EQ(info.si_pid, killed);
  EXPECT_EQ(info.si_code, CLD_KILLED);
  EXPECT_EQ(info.si_status, SIGTERM);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
  EXPECT_EQ(::waitid(P_PID, static_cast<id_t>(exits), &info, WEXITED), -1);  // reaped already
  EXPECT_EQ(errno, ECHILD);
}

#if !GEVENT_TSAN  // TSan does not support fork in a threaded program (see tests/CMakeLists.txt)
TEST_F(MonkeyTest, ForkedChildKeepsAWorkingHubAndWaitpidIsCooperative) {
  Heartbeat heartbeat;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto napper = gevent::spawn([] {
      std::this_thread::sleep_for(300ms);  // longer than the heartbeat's bound
      return 7;
    });
    _exit(napper.get());
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}
#endif

}  // namespace
