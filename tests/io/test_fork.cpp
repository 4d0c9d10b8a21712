// gevent::fork, gevent::reinit and gevent::os::waitpid with real child processes that use
// their hub: sockets, sleeps, thread-pool jobs, grandchildren.
#include <gevent/gevent.hpp>
#include <gevent/os.hpp>
#include <gevent/socket.hpp>
#include <gevent/socket_file.hpp>
#include <gevent/subprocess.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class ForkTest : public HubTest {};

// Forks with gevent::fork(); the child runs body() and exits with what it returns (99 if it
// threw), without running anything of the parent's test.
template <class Body>
pid_t fork_child(Body body) {
  const pid_t pid = gevent::fork();
  if (pid != 0) return pid;
  ::alarm(10);  // a child that hangs must not outlive the test
  int code = 99;
  try {
    code = body();
  } catch (...) {
  }
  ::_exit(code);
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status); }

TEST_F(ForkTest, AChildUsesSocketsSleepAndTheThreadPool) {
  EXPECT_EQ(gevent::get_hub().threadpool().apply([] { return 1; }), 1);  // threads exist now
  auto listener = gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0));
  const auto where = listener.getsockname();
  const pid_t pid = fork_child([&] {
    int ticks = 0;
    auto ticker = gevent::spawn([&] {
      for (int i = 0; i < 5; ++i, ++ticks) gevent::sleep(1ms);
    });
    auto conn = gevent::create_connection(where, 5s);
    conn.sendall("hello from the child\n");
    gevent::sleep(10ms);
    const int from_pool = gevent::get_hub().threadpool().apply([] { return 21; });
    ticker.join();
    return ticks == 5 ? from_pool * 2 : 98;
  });
  ASSERT_GT(pid, 0);
  auto [conn, peer] = listener.accept();
  conn.settimeout(5s);
  auto file = conn.makefile();
  EXPECT_EQ(file.readline(), "hello from the child\n");
  int ticks = 0;
  auto ticker = gevent::spawn([&] {
    for (int i = 0; i < 3; ++i, ++ticks) gevent::sleep(1ms);
  });
  const auto [reaped, status] = gevent::os::waitpid(pid);
  ticker.join();
  EXPECT_EQ(reaped, pid);
  EXPECT_EQ(exit_code(status), 42);
  EXPECT_EQ(ticks, 3);
}

// A fork right after a thread-pool job: the hub took the job's result without running the
// loop, so the loop had not read the wake-up yet. The child must still hear from its own pool
// (under libuv, the unread wake-up once made every wake-up in the child a no-op).
TEST_F(ForkTest, AChildForkedRightAfterAPoolJobHearsFromItsPool) {
  for (int round = 0; round < 200; ++round) {
    ASSERT_EQ(gevent::get_hub().threadpool().apply([] { return 1; }), 1);
    const pid_t pid = fork_child([] {
      const auto answer = gevent::try_with_timeout(
          2s, [] { return gevent::get_hub().threadpool().apply([] { return 42; }); });
      return answer.value_or(97);
    });
    ASSERT_GT(pid, 0);
    const auto [reaped, status] = gevent::os::waitpid(pid);
    EXPECT_EQ(reaped, pid);
    ASSERT_EQ(exit_code(status), 42) << "round " << round << " (97: the child's wait timed out)";
  }
}

TEST_F(ForkTest, AChildWaitsForItsOwnChildren) {
  const pid_t pid = fork_child([] {
    const pid_t grandchild = fork_child([] {
      gevent::sleep(10ms);
      return 7;
    });
    const auto [reaped, status] = gevent::os::waitpid(grandchild);
    const int code = gevent::subprocess::call({"sh", "-c", "exit 3"});
    return reaped == grandchild ? exit_code(status) + code : 97;
  });
  EXPECT_EQ(exit_code(gevent::os::waitpid(pid).second), 10);
}

TEST_F(ForkTest, TheParentsChildWatchersKeepWorking) {
  gevent::subprocess::Popen before({"sh", "-c", "sleep 0.1; exit 4"});
  const pid_t pid = fork_child([] { return 0; });
  EXPECT_EQ(before.wait(5s), 4);
  EXPECT_EQ(exit_code(gevent::os::waitpid(pid).second), 0);
  gevent::subprocess::Popen after({"sh", "-c", "exit 6"});
  EXPECT_EQ(after.wait(5s), 6);
}

TEST_F(ForkTest, WaitpidCollectsAnExitAndRejectsWhatItCannotDo) {
  const pid_t pid = fork_child([] { return 5; });
  gevent::sleep(50ms);  // the child is gone; libev's default loop may have reaped it already
  const auto [reaped, status] = gevent::os::waitpid(pid, WNOHANG);
  EXPECT_EQ(reaped, pid);
  EXPECT_EQ(exit_code(status), 5);
  EXPECT_THROW(gevent::os::waitpid(-1), std::invalid_argument);
  EXPECT_THROW(gevent::os::waitpid(pid, WUNTRACED), std::invalid_argument);
  try {
    gevent::os::waitpid(pid);  // reaped already: no child of ours any more
    ADD_FAILURE() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_child_process);
  }
}

// A job runs on the hub's pool when the process forks: in the child, the pool's threads are
// gone. The hub stops counting that job, so it does not wait for it forever, and a new pool
// serves new jobs.
TEST_F(ForkTest, TheChildGetsAFreshThreadPool) {
  auto& pool = gevent::get_hub().threadpool();
  auto slow = pool.spawn([] {
    std::this_thread::sleep_for(200ms);
    return 1;
  });
  gevent::sleep(20ms);  // the job is running on a pool thread
  const pid_t pid = fork_child([] {
    const bool idle = gevent::get_hub().join(2s);  // nothing left but the lost job
    const int fresh = gevent::get_hub().threadpool().apply([] { return 30; });
    return idle ? fresh : 96;
  });
  EXPECT_EQ(exit_code(gevent::os::waitpid(pid).second), 30);
  EXPECT_EQ(slow.get(), 1);  // the parent's job finished as usual
}

TEST_F(ForkTest, ReinitAfterAPlainFork) {
  gevent::sleep(1ms);  // the hub exists
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(10);
    gevent::reinit();
    gevent::sleep(5ms);
    const int code = gevent::get_hub().threadpool().apply([] { return 12; });
    ::_exit(code);
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(exit_code(gevent::os::waitpid(pid).second), 12);
}

// A hub service of the test's own, told about the fork in the child only.
struct ForkCounter final : gevent::detail::HubService {
  explicit ForkCounter(gevent::Hub&) {}
  void after_fork_in_child() override { ++forks_seen; }
  int forks_seen = 0;
};

TEST_F(ForkTest, EveryHubServiceIsToldAboutTheForkInTheChild) {
  ForkCounter& counter = gevent::get_hub().service<ForkCounter>();
  const pid_t pid = fork_child([&] {
    return &gevent::get_hub().service<ForkCounter>() == &counter ? 40 + counter.forks_seen : 98;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(exit_code(gevent::os::waitpid(pid).second), 41);
  EXPECT_EQ(counter.forks_seen, 0);
}

}  // namespace
