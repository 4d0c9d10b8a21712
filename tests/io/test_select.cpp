// gevent::select::select and Poll over real pipes and loopback TCP sockets.
#include <gevent/gevent.hpp>
#include <gevent/hub.hpp>
#include <gevent/select.hpp>
#include <gevent/socket.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "fd/fd_table.hpp"
#include "support/harness.hpp"
#include "support/pipe.hpp"

using namespace std::chrono_literals;
using gevent::select::PollEvent;
using gevent::testing::HubTest;
using gevent::testing::Pipe;

// Counts this thread's allocations, to check that select allocates nothing per fd.
namespace {
thread_local std::size_t allocations = 0;
}
void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that these pair with the operator new above (-Wmismatched-new-delete).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

using Clock = std::chrono::steady_clock;

class SelectTest : public HubTest {
 protected:
  static int active_watchers() { return gevent::Hub::current().loop().active_watchers(); }
  // The active watchers once the hub has nothing left to do: only its own thread-safe
  // wake-up watcher (kHubOwn), so whatever select or poll armed is gone.
  static int settled_watchers() {
    gevent::Hub::current().join(2s);
    return active_watchers();
  }
  static constexpr int kHubOwn = 1;
  static gevent::detail::FdTableCounts table() {
    return gevent::detail::fd_table_counts(gevent::Hub::current());
  }
};

std::pair<gevent::socket, gevent::socket> tcp_pair() {
  auto server = gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0));
  auto client = gevent::create_connection(server.getsockname(), 5s);
  auto [conn, peer] = server.accept();
  return {std::move(client), std::move(conn)};
}

// A Unix stream pair, whose writability depends on the sender's buffer alone: TCP's also
// moves with the peer's acknowledgements and window updates, which a test cannot pin down.
std::pair<gevent::socket, gevent::socket> unix_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  return {gevent::socket::from_fd(fds[0]), gevent::socket::from_fd(fds[1])};
}

// Fills a's send buffer (and the peer's receive buffer) until a stays unwritable; returns
// how many bytes went out.
std::size_t fill_until_blocked(gevent::socket& a) {
  a.setsockopt(SOL_SOCKET, SO_SNDBUF, 4096);
  a.settimeout(0s);
  const std::string chunk(4096, 'f');
  std::size_t total = 0;
  for (;;) {
    std::error_code ec;
    while (!ec) total += a.send(chunk, 0, ec);
    EXPECT_EQ(ec, std::errc::operation_would_block);
    gevent::sleep(5ms);  // let the peer's acknowledgements in
    pollfd probe{a.fileno(), POLLOUT, 0};
    if (::poll(&probe, 1, 0) == 0) break;
  }
  a.settimeout({});
  return total;
}

void receive_exactly(gevent::socket& b, std::size_t count) {
  char buf[65536];
  while (count > 0) {
    const std::size_t n = b.recv({buf, std::min(count, sizeof buf)});
    ASSERT_GT(n, 0u);
    count -= n;
  }
}

std::chrono::microseconds thread_cpu_time() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  const auto us = [](timeval t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

template <class F>
Clock::duration time_of(F&& f) {
  const auto start = Clock::now();
  f();
  return Clock::now() - start;
}

TEST_F(SelectTest, ReadableAfterAWriteFromAnotherGreenlet) {
  Pipe pipe;
  auto [a, b] = tcp_pair();
  auto writer = gevent::spawn([&, &b = b] {
    gevent::sleep(10ms);
    pipe.put();
    gevent::sleep(10ms);
    b.sendall("hello");
  });
  gevent::select::SelectResult ready;
  const auto waited = time_of([&] { ready = gevent::select::select({pipe.r}, {}, {}, 5s); });
  EXPECT_EQ(ready.rlist, std::vector<int>{pipe.r});
  EXPECT_TRUE(ready.wlist.empty());
  EXPECT_TRUE(ready.xlist.empty());
  EXPECT_GE(waited, 8ms);

  const int fd = a.fileno();
  auto [r, w, x] = gevent::select::select({fd}, {}, {}, 5s);
  EXPECT_EQ(r, std::vector<int>{fd});
  char buf[16];
  EXPECT_EQ(a.recv(buf), 5u);
  writer.join();
  EXPECT_EQ(settled_watchers(), kHubOwn);
}

TEST_F(SelectTest, WritableAtOnceAndOnlyWhatIsReady) {
  auto [a, b] = tcp_pair();
  Pipe pipe;
  const std::vector<int> rlist{a.fileno(), pipe.r}, wlist{a.fileno(), pipe.w};
  auto ready = gevent::select::select(rlist, wlist, {}, 5s);
  EXPECT_TRUE(ready.rlist.empty());
  EXPECT_EQ(ready.wlist, wlist);
  // Any contiguous range of int will do; other element types do not convert.
  const std::array<int, 2> fds{pipe.r, pipe.w};
  EXPECT_EQ(gevent::select::select(fds, std::span(fds), {}, 0s).wlist, std::vector<int>{pipe.w});
  static_assert(!std::is_convertible_v<std::vector<long>, gevent::select::FdList>);
}

TEST_F(SelectTest, TimesOutWithEmptyListsInBothForms) {
  Pipe pipe;
  gevent::select::SelectResult ready{{1}, {2}, {3}};
  auto waited = time_of([&] { ready = gevent::select::select({pipe.r}, {}, {pipe.r}, 30ms); });
  EXPECT_GE(waited, 25ms);
  EXPECT_TRUE(ready.rlist.empty() && ready.wlist.empty() && ready.xlist.empty());

  std::error_code ec = std::make_error_code(std::errc::io_error);
  waited = time_of([&] { ready = gevent::select::select({pipe.r}, {}, {}, 20ms, ec); });
  EXPECT_FALSE(ec);
  EXPECT_GE(waited, 15ms);
  EXPECT_TRUE(ready.rlist.empty());

  // Nothing to watch: a sleep, as in Python.
  waited = time_of([&] { ready = gevent::select::select({}, {}, {}, 20ms); });
  EXPECT_GE(waited, 15ms);
  EXPECT_EQ(settled_watchers(), kHubOwn);
}

TEST_F(SelectTest, ZeroTimeoutChecksOnceWithoutWaiting) {
  Pipe pipe;
  gevent::select::SelectResult ready;
  const auto took = time_of([&] { ready = gevent::select::select({pipe.r}, {}, {}, 0s); });
  EXPECT_LT(took, 10ms);
  EXPECT_TRUE(ready.rlist.empty());
  pipe.put();
  EXPECT_EQ(gevent::select::select({pipe.r}, {}, {}, 0s).rlist, std::vector<int>{pipe.r});
}

TEST_F(SelectTest, ZeroTimeoutLetsOtherGreenletsRun) {
  Pipe pipe;
  int ticks = 0;
  auto ticker = gevent::spawn([&] {
    for (; ticks < 3; ++ticks) gevent::sleep(0s);
  });
  for (int i = 0; i < 10 && ticks < 3; ++i) gevent::select::select({pipe.r}, {}, {}, 0s);
  EXPECT_EQ(ticks, 3);  // a select loop is a switch point, as in gevent
  ticker.join();
}

TEST_F(SelectTest, EnclosingTimeoutInterruptsAndStopsEveryWatcher) {
  Pipe pipe;
  auto [a, b] = tcp_pair();
  {
    gevent::Timeout limit(15ms);
    EXPECT_THROW(gevent::select::select({pipe.r, a.fileno()}, {}, {a.fileno()}), gevent::Timeout);
  }
  EXPECT_EQ(settled_watchers(), kHubOwn);
  {
    gevent::Timeout limit(15ms);
    std::error_code ec;
    EXPECT_THROW(gevent::select::select({pipe.r}, {}, {}, 5s, ec), gevent::Timeout);
  }
  EXPECT_EQ(settled_watchers(), kHubOwn);
}

// The select shares the socket's state in the fd table: closing the socket wakes it.
TEST_F(SelectTest, ClosingASocketASelectWaitsOnEndsItWithEbadf) {
  auto [a, b] = tcp_pair();
  std::error_code ec;
  auto selecting = gevent::spawn([&, fd = b.fileno()] {
    return gevent::select::select({fd}, {}, {}, {}, ec).rlist.size();  // no time limit
  });
  gevent::sleep(5ms);
  EXPECT_EQ(table().waits, 1u);
  b.close();
  ASSERT_TRUE(selecting.join(5s)) << "closing the socket did not wake the select";
  EXPECT_EQ(selecting.get(), 0u);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  EXPECT_EQ(table().waits, 0u);
}

TEST_F(SelectTest, ClosingASocketEndsAWaitReadOnItsFd) {
  auto [a, b] = tcp_pair();
  auto waiting = gevent::spawn([fd = b.fileno()] {
    try {
      gevent::wait_read(fd);  // no time limit
    } catch (const std::system_error& e) {
      return e.code();
    }
    return std::error_code();
  });
  gevent::sleep(5ms);
  b.close();
  ASSERT_TRUE(waiting.join(5s)) << "closing the socket did not wake wait_read";
  EXPECT_EQ(waiting.get(), std::errc::bad_file_descriptor);
}

TEST_F(SelectTest, KillWhileWaitingStopsEveryWatcher) {
  Pipe pipe;
  auto [a, b] = tcp_pair();
  auto waiter = gevent::spawn([&, fd = a.fileno()] {
    gevent::select::select({pipe.r, fd}, {}, {fd});
    ADD_FAILURE() << "select returned";
  });
  gevent::sleep(10ms);
  EXPECT_EQ(active_watchers(), kHubOwn + 1);  // the fd table's, on its epoll set
  EXPECT_EQ(table().waits, 3u);               // the pipe, the socket and its priority data
  EXPECT_EQ(table().adopted, 1u);  // the pipe: the socket joined the table when it connected
  waiter.kill();
  EXPECT_TRUE(waiter.dead());
  EXPECT_EQ(settled_watchers(), kHubOwn);
  EXPECT_EQ(table().waits, 0u);
  EXPECT_EQ(table().adopted, 0u);
}

TEST_F(SelectTest, ATickerKeepsRunningWhileSelectWaits) {
  Pipe pipe;
  int ticks = 0;
  auto ticker = gevent::spawn([&] {
    for (; ticks < 5; ++ticks) gevent::sleep(2ms);
    pipe.put();
  });
  auto ready = gevent::select::select({pipe.r}, {}, {});
  EXPECT_EQ(ticks, 5);
  EXPECT_EQ(ready.rlist, std::vector<int>{pipe.r});
  ticker.join();
}

TEST_F(SelectTest, PeerHangUpIsReadableAndAClosedReaderMakesAWriterReady) {
  auto [a, b] = tcp_pair();
  auto closer = gevent::spawn([&b = b] {
    gevent::sleep(5ms);
    b.close();
  });
  EXPECT_EQ(gevent::select::select({a.fileno()}, {}, {}, 5s).rlist, std::vector<int>{a.fileno()});
  char buf[4];
  EXPECT_EQ(a.recv(buf), 0u);  // end of stream
  closer.join();

  Pipe pipe;
  pipe.close_w();
  EXPECT_EQ(gevent::select::select({pipe.r}, {}, {}, 5s).rlist, std::vector<int>{pipe.r});
  Pipe other;
  other.close_r();  // POLLERR on the write end: a write would fail at once (EPIPE)
  EXPECT_EQ(gevent::select::select({}, {other.w}, {}, 5s).wlist, std::vector<int>{other.w});
}

TEST_F(SelectTest, ClosedOrNegativeFdIsBadFileDescriptorNotAHang) {
  Pipe pipe;
  const int closed = ::dup(pipe.r);
  ::close(closed);
  for (const std::vector<int>& bad : {std::vector<int>{closed}, std::vector<int>{-1}}) {
    for (int list = 0; list < 3; ++list) {
      const std::vector<int> none;
      const auto& r = list == 0 ? bad : none;
      const auto& w = list == 1 ? bad : none;
      const auto& x = list == 2 ? bad : none;
      try {
        gevent::select::select(r, w, x);
        ADD_FAILURE() << "select did not throw";
      } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
      }
      std::error_code ec;
      const auto ready = gevent::select::select(r, w, x, {}, ec);
      EXPECT_EQ(ec, std::errc::bad_file_descriptor);
      EXPECT_TRUE(ready.rlist.empty() && ready.wlist.empty() && ready.xlist.empty());
    }
  }
  // Also when another fd is ready.
  pipe.put();
  std::error_code ec;
  gevent::select::select({pipe.r, closed}, {}, {}, {}, ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
}

TEST_F(SelectTest, SameFdInReadAndWriteListsWaitsOnBoth) {
  auto [a, b] = unix_pair();
  const std::size_t queued = fill_until_blocked(a);
  const int fd = a.fileno();
  auto peer = gevent::spawn([&b = b, queued] {
    gevent::sleep(10ms);
    b.sendall("r");  // a becomes readable; still not writable
    gevent::sleep(10ms);
    receive_exactly(b, queued);  // now a becomes writable
  });
  auto first = gevent::select::select({fd}, {fd}, {}, 5s);
  EXPECT_EQ(first.rlist, std::vector<int>{fd});
  EXPECT_TRUE(first.wlist.empty());
  char buf[1];
  EXPECT_EQ(a.recv(buf), 1u);
  auto second = gevent::select::select({fd}, {fd}, {}, 5s);
  EXPECT_TRUE(second.rlist.empty());
  EXPECT_EQ(second.wlist, std::vector<int>{fd});
  peer.join();
  EXPECT_EQ(settled_watchers(), kHubOwn);
}

TEST_F(SelectTest, UrgentDataIsAnExceptionalConditionThatEndsTheWait) {
  auto [a, b] = tcp_pair();
  auto sender = gevent::spawn([&a = a] {
    gevent::sleep(10ms);
    a.send("!", MSG_OOB);
  });
  const int fd = b.fileno();
  gevent::select::SelectResult ready;
  const auto waited = time_of([&] { ready = gevent::select::select({}, {}, {fd}, 5s); });
  EXPECT_EQ(ready.xlist, std::vector<int>{fd});
  EXPECT_GE(waited, 8ms);
  sender.join();
  char oob;
  EXPECT_EQ(b.recv({&oob, 1}, MSG_OOB), 1u);
  EXPECT_EQ(oob, '!');
}

TEST_F(SelectTest, AHangUpIsNotAnExceptionalCondition) {
  auto [a, b] = tcp_pair();
  a.close();
  b.shutdown(SHUT_WR);  // POLLHUP on b
  const auto cpu_before = thread_cpu_time();
  const auto ready = gevent::select::select({}, {}, {b.fileno()}, 50ms);
  EXPECT_TRUE(ready.xlist.empty());
  // The lasting hang-up woke the wait once at most; it did not keep the thread busy.
  EXPECT_LT(thread_cpu_time() - cpu_before, 10ms);
}

TEST_F(SelectTest, FromTheHubOnlyANonBlockingCallIsAllowed) {
  Pipe pipe;
  bool polled = false, refused = false;
  gevent::Hub::current().run_callback([&] {
    polled = gevent::select::select({pipe.r}, {pipe.w}, {}, 0s).wlist.size() == 1;
    try {
      gevent::select::select({pipe.r}, {}, {}, 1s);
    } catch (const gevent::BlockingSwitchOutError&) {
      refused = true;
    }
  });
  gevent::sleep(5ms);
  EXPECT_TRUE(polled);
  EXPECT_TRUE(refused);
}

TEST_F(SelectTest, PollRegisterModifyUnregister) {
  auto [a, b] = tcp_pair();
  const int fd = a.fileno();
  auto p = gevent::select::poll();
  p.register_fd(fd, POLLIN);
  EXPECT_TRUE(p.poll(0s).empty());
  p.modify(fd, POLLIN | POLLOUT);
  EXPECT_EQ(p.poll(0s), (std::vector<PollEvent>{{fd, POLLOUT}}));
  p.register_fd(fd, POLLIN);  // registering again replaces the mask
  EXPECT_EQ(p.size(), 1u);
  EXPECT_TRUE(p.poll(0s).empty());
  p.unregister(fd);
  EXPECT_EQ(p.size(), 0u);
  EXPECT_THROW(p.unregister(fd), std::out_of_range);
  try {
    p.modify(fd, POLLIN);
    ADD_FAILURE() << "modify did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  }
  try {
    p.register_fd(-1);
    ADD_FAILURE() << "register_fd did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
  }
  EXPECT_THROW(p.register_fd(fd, 0x10000), std::invalid_argument);
  EXPECT_EQ(p.size(), 0u);
}

TEST_F(SelectTest, PollUnregisterKeepsTheOthers) {
  Pipe one, two, three;
  auto p = gevent::select::poll();
  for (const Pipe* pipe : {&one, &two, &three}) p.register_fd(pipe->r, POLLIN);
  p.unregister(one.r);
  three.put();
  one.put();
  EXPECT_EQ(p.poll(0s), (std::vector<PollEvent>{{three.r, POLLIN}}));
  p.unregister(three.r);
  two.put();
  EXPECT_EQ(p.poll(0s), (std::vector<PollEvent>{{two.r, POLLIN}}));
}

TEST_F(SelectTest, PollWaitsCooperativelyAndTimesOut) {
  auto [a, b] = tcp_pair();
  auto p = gevent::select::poll();
  p.register_fd(a.fileno(), POLLIN);
  auto waited = time_of([&] { EXPECT_TRUE(p.poll(20ms).empty()); });
  EXPECT_GE(waited, 15ms);
  std::error_code ec = std::make_error_code(std::errc::io_error);
  EXPECT_TRUE(p.poll(10ms, ec).empty());
  EXPECT_FALSE(ec);

  int ticks = 0;
  auto peer = gevent::spawn([&, &b = b] {
    for (; ticks < 5; ++ticks) gevent::sleep(2ms);
    b.sendall("x");
  });
  EXPECT_EQ(p.poll(), (std::vector<PollEvent>{{a.fileno(), POLLIN}}));
  EXPECT_EQ(ticks, 5);
  peer.join();

  char buf[1];
  a.recv(buf);
  {
    gevent::Timeout limit(10ms);
    EXPECT_THROW(p.poll(), gevent::Timeout);
  }
  EXPECT_EQ(settled_watchers(), kHubOwn);
}

TEST_F(SelectTest, PollReportsHangUpErrorAndInvalidFdAsPythonDoes) {
  Pipe reader_gone, writer_gone;
  auto p = gevent::select::poll();
  p.register_fd(writer_gone.r, POLLIN);
  auto closer = gevent::spawn([&] {
    gevent::sleep(5ms);
    writer_gone.close_w();
  });
  EXPECT_EQ(p.poll(5s), (std::vector<PollEvent>{{writer_gone.r, POLLHUP}}));
  closer.join();

  p.unregister(writer_gone.r);
  reader_gone.close_r();
  p.register_fd(reader_gone.w, POLLOUT);
  EXPECT_EQ(p.poll(5s), (std::vector<PollEvent>{{reader_gone.w, POLLOUT | POLLERR}}));

  p.unregister(reader_gone.w);
  const int closed = ::dup(reader_gone.w);  // a number no fd has (the hub's own are open now)
  ::close(closed);
  p.register_fd(closed);  // allowed, as in Python; reported, not thrown
  EXPECT_EQ(p.poll(5s), (std::vector<PollEvent>{{closed, POLLNVAL}}));
}

TEST_F(SelectTest, PollPriorityWakesTheWait) {
  auto [a, b] = tcp_pair();
  auto p = gevent::select::poll();
  p.register_fd(b.fileno(), POLLPRI);
  auto sender = gevent::spawn([&a = a] {
    gevent::sleep(10ms);
    a.send("!", MSG_OOB);
  });
  EXPECT_EQ(p.poll(5s), (std::vector<PollEvent>{{b.fileno(), POLLPRI}}));
  sender.join();
}

// 1000 idle fds (both ends of 500 pipes, in rlist: neither end is readable) and one ready.
class ManyFdsTest : public SelectTest {
 protected:
  void SetUp() override {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < 1200) {
      limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4096);
      ::setrlimit(RLIMIT_NOFILE, &limit);
      if (limit.rlim_cur < 1200) GTEST_SKIP() << "RLIMIT_NOFILE is below 1200";
    }
    SelectTest::SetUp();
    pipes_.resize(500);
    for (const Pipe& pipe : pipes_) {
      idle_.push_back(pipe.r);
      idle_.push_back(pipe.w);
    }
  }
  void TearDown() override {
    if (IsSkipped()) return;
    pipes_.clear();
    SelectTest::TearDown();
  }

  std::vector<Pipe> pipes_;
  std::vector<int> idle_;
};

TEST_F(ManyFdsTest, OneReadyAmongAThousandIsFoundAtOnceWithoutAllocatingPerFd) {
  Pipe ready;
  ready.put();
  std::vector<int> rlist = idle_;
  rlist.push_back(ready.r);
  EXPECT_EQ(gevent::select::select(rlist, {}, {}).rlist, std::vector<int>{ready.r});  // warm-up

  constexpr int kCalls = 200;
  const std::size_t before = allocations;
  const auto took = time_of([&] {
    for (int i = 0; i < kCalls; ++i)
      if (gevent::select::select(rlist, {}, {}, 0s).rlist.size() != 1) ADD_FAILURE();
  });
  EXPECT_LE(allocations - before, std::size_t{kCalls});  // the result vector, nothing more
  const auto per_call = std::chrono::duration_cast<std::chrono::microseconds>(took / kCalls);
  std::printf("select over 1001 fds, one ready: %lld us per call\n",
              static_cast<long long>(per_call.count()));
  EXPECT_LT(per_call, 2ms);
}

TEST_F(ManyFdsTest, AThousandWatchersAreArmedAndAllStopped) {
  const int last = pipes_.back().r;
  auto writer = gevent::spawn([&] {
    gevent::sleep(10ms);
    EXPECT_EQ(active_watchers(), kHubOwn + 2);  // the fd table's, and the timer of the 5 s limit
    EXPECT_EQ(table().waits, 1000u);
    EXPECT_EQ(table().adopted, 1000u);
    pipes_.back().put();
  });
  gevent::select::SelectResult ready;
  const auto took = time_of([&] { ready = gevent::select::select(idle_, {}, {}, 5s); });
  EXPECT_EQ(ready.rlist, std::vector<int>{last});
  EXPECT_LT(took, 1s);
  std::printf(
      "select over 1000 idle fds until one is written after 10 ms: %lld us\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
  writer.join();
  EXPECT_EQ(settled_watchers(), kHubOwn);
  EXPECT_EQ(table().waits, 0u);
  EXPECT_EQ(table().adopted, 0u);
  char byte;
  ASSERT_EQ(::read(last, &byte, 1), 1);

  auto p = gevent::select::poll();
  for (int fd : idle_) p.register_fd(fd, POLLIN);
  auto second = gevent::spawn([&] {
    gevent::sleep(10ms);
    pipes_.front().put();
  });
  EXPECT_EQ(p.poll(5s), (std::vector<PollEvent>{{pipes_.front().r, POLLIN}}));
  second.join();
  EXPECT_EQ(settled_watchers(), kHubOwn);
}

}  // namespace
