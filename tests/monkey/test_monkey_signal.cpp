// patch_signal(): the program's handlers and the hub's (libev's and libuv's) both run, each
// party sees its own previous action, and hooked calls made in a handler are the originals.
// Run once per backend (GEVENT_LOOP). Each test puts back the default action of every signal
// it touches: the table of actions is process-wide.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>
#include <gevent/os.hpp>
#include <gevent/signal.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <vector>

#include "support/harness.hpp"

extern char** environ;

using namespace std::chrono_literals;

namespace {

using SigactionFunction = int(int, const struct sigaction*, struct sigaction*);

class SignalTest : public gevent::testing::HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    gevent::monkey::patch_all();
  }
};

// What the kernel holds for `signum`, read with the original call.
struct sigaction kernel_action(int signum) {
  struct sigaction action {};
  gevent::monkey::get_original<SigactionFunction>("sigaction")(signum, nullptr, &action);
  return action;
}

void* handler_of(const struct sigaction& action) {
  return reinterpret_cast<void*>(action.sa_handler);
}

pid_t spawn_shell(const char* script) {
  const char* argv[] = {"sh", "-c", script, nullptr};
  pid_t pid = -1;
  EXPECT_EQ(::posix_spawnp(&pid, "sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  return pid;
}

// Lets the hub run until `done` holds, for at most `limit`.
template <class Done>
bool sleep_until(Done done, gevent::Duration limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < until) gevent::sleep(5ms);
  return done();
}

std::atomic<int> sigchld_seen{0};
void count_sigchld(int) { sigchld_seen.fetch_add(1); }

// Without patch_signal, the program's handler displaced libev's (whose child watchers then
// fell back to gevent's once-a-second waitpid), and libuv's displaced the program's (never
// called again once a child watcher started).
TEST_F(SignalTest, TheProgramsSigchldHandlerAndTheHubsChildWatcherBothRun) {
  sigchld_seen = 0;
  ASSERT_NE(::signal(SIGCHLD, &count_sigchld), SIG_ERR);
  const auto start = std::chrono::steady_clock::now();
  const pid_t child = spawn_shell("sleep 0.2; exit 4");
  const auto [reaped, status] = gevent::os::waitpid(child, 0);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(reaped, child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 4);
  // TSan may hand a process-directed signal to its own thread and never deliver it
  // (docs/pitfalls.md): then only the backup poll ends the wait, and the handler needs a
  // second SIGCHLD sent to this thread.
  if (!GEVENT_TSAN) {
    EXPECT_LT(took, 900ms) << "the hub's child watcher never heard SIGCHLD";
  }
  if (GEVENT_TSAN && !sleep_until([] { return sigchld_seen > 0; }, 500ms)) ::raise(SIGCHLD);
  EXPECT_TRUE(sleep_until([] { return sigchld_seen > 0; }, 2s))
      << "the program's SIGCHLD handler was never called";
  EXPECT_EQ(::signal(SIGCHLD, SIG_DFL), &count_sigchld);
}

// A child whose stdout-side fd 3 is the write end of a pipe: the read end sees end of file
// when the child exits, which dates the exit.
pid_t spawn_with_exit_pipe(const char* script, int* exit_pipe) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 3);
  const char* argv[] = {"sh", "-c", script, nullptr};
  pid_t pid = -1;
  EXPECT_EQ(::posix_spawnp(&pid, "sh", &actions, nullptr, const_cast<char**>(argv), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  *exit_pipe = fds[0];
  return pid;
}

// With patch_signal() a hooked waitpid for an exit waits on the loop's child watcher: it
// returns as the child exits. (Polling, as without patch_signal(), finds a 100 ms child about
// 10 ms late: it looks after 1, 2, 4... up to every 50 ms.)
TEST_F(SignalTest, AHookedWaitpidReturnsAsTheChildExits) {
  std::vector<double> late_ms;
  for (int round = 0; round < 5; ++round) {
    int exit_pipe = -1;
    const pid_t child = spawn_with_exit_pipe("sleep 0.1", &exit_pipe);
    std::chrono::steady_clock::time_point exited;
    auto dater = gevent::spawn([&] {
      char byte;
      while (::read(exit_pipe, &byte, 1) > 0) {
      }
      exited = std::chrono::steady_clock::now();
    });
    int status = -1;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    const auto returned = std::chrono::steady_clock::now();
    dater.join();
    ::close(exit_pipe);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    late_ms.push_back(std::chrono::duration<double, std::milli>(returned - exited).count());
  }
  std::sort(late_ms.begin(), late_ms.end());
  std::printf("hooked waitpid returned %.3f ms (median of 5) after the child exited\n", late_ms[2]);
  if (!GEVENT_TSAN) {  // TSan may lose SIGCHLD (docs/pitfalls.md); then the backup poll ends it
    EXPECT_LT(late_ms[2], 5.0);
  }
}

std::atomic<int> first_calls{0}, second_calls{0};
void first_handler(int) { first_calls.fetch_add(1); }
void second_handler(int) { second_calls.fetch_add(1); }

TEST_F(SignalTest, EachCallSeesTheActionItReplaced) {
  first_calls = second_calls = 0;
  EXPECT_EQ(::signal(SIGUSR1, &first_handler), SIG_DFL);
  EXPECT_EQ(::signal(SIGUSR1, &second_handler), &first_handler);
  struct sigaction seen {};
  ASSERT_EQ(::sigaction(SIGUSR1, nullptr, &seen), 0);
  EXPECT_EQ(handler_of(seen), reinterpret_cast<void*>(&second_handler));
  EXPECT_TRUE(seen.sa_flags & SA_RESTART);  // signal() has BSD semantics, as glibc's
  EXPECT_NE(handler_of(kernel_action(SIGUSR1)), reinterpret_cast<void*>(&second_handler))
      << "the kernel should hold the trampoline, not the handler";
  ASSERT_EQ(::raise(SIGUSR1), 0);
  EXPECT_EQ(first_calls, 0);
  EXPECT_EQ(second_calls, 1);

  struct sigaction with_info {};
  with_info.sa_sigaction = [](int, siginfo_t* info, void*) {
    if (info && info->si_signo == SIGUSR1) first_calls.fetch_add(1);
  };
  with_info.sa_flags = SA_SIGINFO;
  struct sigaction replaced {};
  ASSERT_EQ(::sigaction(SIGUSR1, &with_info, &replaced), 0);
  EXPECT_EQ(handler_of(replaced), reinterpret_cast<void*>(&second_handler));
  ASSERT_EQ(::raise(SIGUSR1), 0);
  EXPECT_EQ(first_calls, 1);

  EXPECT_EQ(::signal(SIGUSR1, SIG_DFL), reinterpret_cast<sighandler_t>(with_info.sa_handler));
  EXPECT_EQ(kernel_action(SIGUSR1).sa_handler, SIG_DFL);
  EXPECT_EQ(::signal(SIGKILL, &first_handler), SIG_ERR);  // the original's answer, and errno
  EXPECT_EQ(errno, EINVAL);
}

std::atomic<int> hub_side_calls{0};

// gevent::signal_handler's watcher is the hub's (libev or libuv installs it); a handler the
// program installs afterwards runs beside it instead of taking the signal away.
TEST_F(SignalTest, AWatchedSignalReachesTheHubAndTheProgram) {
  first_calls = hub_side_calls = 0;
  {
    gevent::SignalHandler watched(SIGUSR2, [] { hub_side_calls.fetch_add(1); });
    EXPECT_EQ(::signal(SIGUSR2, &first_handler), SIG_DFL) << "the hub's handler is not ours";
    ASSERT_EQ(::raise(SIGUSR2), 0);
    EXPECT_TRUE(sleep_until([] { return hub_side_calls > 0; }, 2s));
    EXPECT_EQ(first_calls, 1);
  }
  // The watcher is gone (its backend put back SIG_DFL for its part): the program's stays.
  ASSERT_EQ(::raise(SIGUSR2), 0);
  EXPECT_EQ(first_calls, 2);
  EXPECT_EQ(::signal(SIGUSR2, SIG_DFL), &first_handler);
  EXPECT_EQ(kernel_action(SIGUSR2).sa_handler, SIG_DFL);
}

std::atomic<bool> other_greenlet_ran{false};
std::atomic<bool> ran_during_handler{false};
void sleeping_handler(int) {
  ::usleep(30'000);  // hooked: outside a handler it would switch to the other greenlet
  ran_during_handler = other_greenlet_ran.load();
}

TEST_F(SignalTest, HookedCallsInAHandlerAreTheOriginalCalls) {
  other_greenlet_ran = ran_during_handler = false;
  ASSERT_NE(::signal(SIGURG, &sleeping_handler), SIG_ERR);
  auto other = gevent::spawn([] { other_greenlet_ran = true; });
  ASSERT_EQ(::raise(SIGURG), 0);
  EXPECT_FALSE(ran_during_handler) << "the handler's usleep switched greenlets";
  EXPECT_FALSE(other_greenlet_ran);
  ::usleep(30'000);  // the same call outside a handler lets the other greenlet run
  EXPECT_TRUE(other_greenlet_ran);
  other.join();
  EXPECT_EQ(::signal(SIGURG, SIG_DFL), &sleeping_handler);
}

TEST_F(SignalTest, AOneShotHandlerRunsOnceThenTheDefaultApplies) {
  first_calls = 0;
  struct sigaction once {};
  once.sa_handler = &first_handler;
  once.sa_flags = SA_RESETHAND;
  ASSERT_EQ(::sigaction(SIGWINCH, &once, nullptr), 0);  // SIGWINCH's default: ignored
  ASSERT_EQ(::raise(SIGWINCH), 0);
  ASSERT_EQ(::raise(SIGWINCH), 0);
  EXPECT_EQ(first_calls, 1);
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGWINCH, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
  EXPECT_EQ(kernel_action(SIGWINCH).sa_handler, SIG_DFL);
}

TEST_F(SignalTest, SignalIsReportedAsPatched) {
  EXPECT_TRUE(gevent::monkey::is_module_patched("signal"));
  EXPECT_TRUE(gevent::monkey::is_patched("sigaction"));
  EXPECT_TRUE(gevent::monkey::is_patched("signal"));
  EXPECT_NE(gevent::monkey::get_original("sigaction"), reinterpret_cast<void*>(&::sigaction));
}

}  // namespace
