// gevent::subprocess with real programs: /bin/sh, cat, echo, sleep, true, false, yes, head.
#include <gevent/gevent.hpp>
#include <gevent/subprocess.hpp>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;
namespace sp = gevent::subprocess;

namespace {

class SubprocessTest : public HubTest {};

std::string big_input(std::size_t size) {
  std::string data;
  data.reserve(size);
  for (std::size_t i = 0; data.size() < size; ++i) data += "line " + std::to_string(i) + "\n";
  data.resize(size);
  return data;
}

// Counts ticks of a greenlet sleeping 1 ms at a time, while the test does something else.
class Ticker {
 public:
  Ticker()
      : greenlet_(gevent::spawn([this] {
          while (!stop_) {
            gevent::sleep(1ms);
            ++ticks_;
          }
        })) {}
  ~Ticker() { stop(); }
  int stop() {
    stop_ = true;
    greenlet_.join();
    return ticks_;
  }

 private:
  bool stop_ = false;
  int ticks_ = 0;
  gevent::Greenlet<void> greenlet_;
};

TEST_F(SubprocessTest, TenMegabytesThroughCatWhileAGreenletTicks) {
  const std::string input = big_input(10 * 1024 * 1024);
  Ticker ticker;
  sp::Popen cat({"cat"}, {.stdin = sp::PIPE, .stdout = sp::PIPE, .stderr = sp::PIPE});
  auto [out, err] = cat.communicate(input, 20s);
  EXPECT_GT(ticker.stop(), 0) << "the hub was blocked";
  EXPECT_EQ(out.size(), input.size());
  EXPECT_TRUE(out == input);
  EXPECT_EQ(err, "");
  EXPECT_EQ(cat.returncode(), 0);
  EXPECT_TRUE(cat.stdout()->closed());
}

TEST_F(SubprocessTest, CheckOutputAndItsErrors) {
  EXPECT_EQ(sp::check_output({"echo", "hello", "world"}), "hello world\n");
  EXPECT_EQ(sp::check_output({"cat"}, {}, "fed through stdin"), "fed through stdin");
  try {
    sp::check_output({"sh", "-c", "echo partial; echo oops >&2; exit 3"}, {.stderr = sp::PIPE});
    ADD_FAILURE() << "no CalledProcessError";
  } catch (const sp::CalledProcessError& e) {
    EXPECT_EQ(e.returncode(), 3);
    EXPECT_EQ(e.output(), "partial\n");
    EXPECT_EQ(e.stderr(), "oops\n");
    EXPECT_EQ(e.cmd().front(), "sh");
    EXPECT_NE(std::string(e.what()).find("non-zero exit status 3"), std::string::npos);
  }
  EXPECT_THROW(sp::check_output({"true"}, {.stdout = sp::DEVNULL}), std::invalid_argument);
}

TEST_F(SubprocessTest, CallCheckCallAndRun) {
  EXPECT_EQ(sp::call({"true"}), 0);
  EXPECT_EQ(sp::call({"false"}), 1);
  EXPECT_NO_THROW(sp::check_call({"true"}));
  EXPECT_THROW(sp::check_call({"false"}), sp::CalledProcessError);
  auto done =
      sp::run({"sh", "-c", "cat; echo err >&2; exit 4"}, {.input = "abc", .capture_output = true});
  EXPECT_EQ(done.returncode, 4);
  EXPECT_EQ(done.stdout, "abc");
  EXPECT_EQ(done.stderr, "err\n");
  EXPECT_THROW(done.check_returncode(), sp::CalledProcessError);
  EXPECT_THROW(sp::run({"false"}, {.check = true}), sp::CalledProcessError);
  EXPECT_THROW(sp::run({"cat"}, {.popen = {.stdin = sp::DEVNULL}, .input = "x"}),
               std::invalid_argument);
}

TEST_F(SubprocessTest, WaitTimesOutAndTheChildRunsOnUntilKilled) {
  sp::Popen sleeper({"sleep", "10"});
  const auto start = std::chrono::steady_clock::now();
  try {
    sleeper.wait(50ms);
    ADD_FAILURE() << "no TimeoutExpired";
  } catch (const sp::TimeoutExpired& e) {
    EXPECT_EQ(e.timeout(), std::chrono::nanoseconds(50ms));
    EXPECT_NE(std::string(e.what()).find("'sleep 10' timed out after 0.05 seconds"),
              std::string::npos)
        << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);
  EXPECT_EQ(sleeper.poll(), std::nullopt);
  EXPECT_EQ(::kill(sleeper.pid(), 0), 0) << "the child should still run";
  sleeper.kill();
  EXPECT_EQ(sleeper.wait(5s), -SIGKILL);
  EXPECT_EQ(sleeper.returncode(), -SIGKILL);
  sleeper.kill();  // reaped: nothing is sent
}

TEST_F(SubprocessTest, CommunicateTimesOutWithThePartialOutputAndCarriesOn) {
  sp::Popen p({"sh", "-c", "echo partial; exec sleep 10"}, {.stdout = sp::PIPE});
  try {
    p.communicate({}, 200ms);
    ADD_FAILURE() << "no TimeoutExpired";
  } catch (const sp::TimeoutExpired& e) {
    EXPECT_EQ(e.output(), "partial\n");
  }
  p.terminate();
  auto [out, err] = p.communicate({}, 5s);
  EXPECT_EQ(out, "partial\n");
  EXPECT_EQ(p.returncode(), -SIGTERM);
}

TEST_F(SubprocessTest, AGeventTimeoutInterruptsCommunicateWithoutLosingOutput) {
  sp::Popen p({"sh", "-c", "echo a; sleep 0.2; echo b"}, {.stdout = sp::PIPE});
  try {
    gevent::Timeout limit{50ms};
    p.communicate();
    ADD_FAILURE() << "not interrupted";
  } catch (const gevent::Timeout&) {
  }
  auto [out, err] = p.communicate({}, 5s);
  EXPECT_EQ(out, "a\nb\n");
  EXPECT_EQ(p.returncode(), 0);
}

TEST_F(SubprocessTest, CommunicateWhileAnotherGreenletReadsIsAnError) {
  sp::Popen p({"sh", "-c", "sleep 0.05; echo x"}, {.stdout = sp::PIPE});
  auto reader = gevent::spawn([&] { return p.stdout()->read_all(); });
  gevent::sleep(1ms);
  EXPECT_THROW(p.communicate(), gevent::ConcurrentObjectUseError);
  EXPECT_EQ(reader.get(), "x\n");
  EXPECT_EQ(p.wait(5s), 0);
}

TEST_F(SubprocessTest, RunKillsTheChildWhenItTimesOut) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(sp::run({"sleep", "10"}, {.timeout = 50ms}), sp::TimeoutExpired);
  EXPECT_THROW(sp::call({"sleep", "10"}, {}, 50ms), sp::TimeoutExpired);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(SubprocessTest, AMissingOrUnrunnableProgramIsAClearError) {
  try {
    sp::Popen p({"gevent-no-such-program"});
    ADD_FAILURE() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("gevent-no-such-program"), std::string::npos);
  }
  try {
    sp::Popen p({"/nonexistent/program"}, {.stdin = sp::PIPE, .stdout = sp::PIPE});
    ADD_FAILURE() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  }
  char path[] = "/tmp/gevent-not-executable-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  try {
    sp::Popen p({path});
    ADD_FAILURE() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::permission_denied);
  }
  ::unlink(path);
  try {
    sp::Popen p({"true"}, {.cwd = "/nonexistent-dir"});
    ADD_FAILURE() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir"), std::string::npos);
  }
  EXPECT_THROW(sp::Popen({}), std::invalid_argument);
  EXPECT_THROW(sp::Popen({"true"}, {.stdout = sp::STDOUT}), std::invalid_argument);
  EXPECT_THROW(sp::Popen({"true"}, {.stdin = sp::from_fd(-3)}), std::invalid_argument);
  EXPECT_THROW(sp::Popen({std::string("a\0b", 3)}), std::invalid_argument);
  sp::Popen no_stdin({"true"});
  EXPECT_THROW(no_stdin.communicate("input"), std::invalid_argument);
  EXPECT_EQ(no_stdin.wait(), 0);
}

TEST_F(SubprocessTest, ManyChildrenAtOnceWhileAGreenletTicks) {
  Ticker ticker;
  std::vector<gevent::Greenlet<int>> runs;
  for (int i = 0; i < 40; ++i)
    runs.push_back(gevent::spawn([i] {
      const std::string script =
          "sleep 0.0" + std::to_string(i % 10) + "; exit " + std::to_string(i % 7);
      return sp::call({"sh", "-c", script});
    }));
  for (int i = 0; i < 40; ++i) EXPECT_EQ(runs[i].get(), i % 7) << i;
  EXPECT_GT(ticker.stop(), 0);
}

TEST_F(SubprocessTest, PipesAreFileObjects) {
  sp::Popen cat({"cat"}, {.stdin = sp::PIPE, .stdout = sp::PIPE});
  ASSERT_NE(cat.stdin(), nullptr);
  EXPECT_EQ(cat.stderr(), nullptr);
  for (int i = 0; i < 3; ++i) {
    cat.stdin()->write("round " + std::to_string(i) + "\n");
    cat.stdin()->flush();
    EXPECT_EQ(cat.stdout()->readline(), "round " + std::to_string(i) + "\n");
  }
  cat.stdin()->close();
  EXPECT_EQ(cat.stdout()->read_all(), "");
  EXPECT_EQ(cat.wait(), 0);
}

TEST_F(SubprocessTest, YesIntoAClosedPipeDiesOfSigpipe) {
  EXPECT_EQ(sp::check_output({"sh", "-c", "yes | head -n 100000"}).size(), 200000u);
  sp::Popen yes({"yes"}, {.stdout = sp::PIPE});
  EXPECT_EQ(yes.stdout()->readline(), "y\n");
  yes.stdout()->close();
  EXPECT_EQ(yes.wait(5s), -SIGPIPE);  // the child got SIGPIPE's default action back
}

TEST_F(SubprocessTest, StreamsEnvironmentAndWorkingDirectory) {
  auto merged = sp::run({"sh", "-c", "echo out; echo err >&2"},
                        {.popen = {.stdout = sp::PIPE, .stderr = sp::STDOUT}});
  EXPECT_EQ(merged.stdout, "out\nerr\n");
  auto quiet = sp::run({"sh", "-c", "echo lost; echo err >&2"},
                       {.popen = {.stdout = sp::DEVNULL, .stderr = sp::PIPE}});
  EXPECT_EQ(quiet.stderr, "err\n");
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  EXPECT_EQ(sp::call({"echo", "to an fd"}, {.stdout = sp::from_fd(fds[1])}), 0);
  ::close(fds[1]);
  gevent::FileObject reader{fds[0]};
  EXPECT_EQ(reader.read_all(), "to an fd\n");
  EXPECT_EQ(sp::check_output({"sh", "-c", "echo \"$GREETING\"; echo ${HOME:-unset}"},
                             {.env = std::map<std::string, std::string>{{"GREETING", "hi"}}}),
            "hi\nunset\n");
  EXPECT_EQ(sp::check_output({"pwd"}, {.cwd = "/tmp"}), "/tmp\n");
}

TEST_F(SubprocessTest, CloseFdsClosesTheOthers) {
  const int inheritable = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(inheritable, 3);
  const std::vector<std::string> probe = {"sh", "-c",
                                          "test -e /proc/self/fd/" + std::to_string(inheritable)};
  EXPECT_EQ(sp::call(probe), 1);
  EXPECT_EQ(sp::call(probe, {.close_fds = false}), 0);
  ::close(inheritable);
}

TEST_F(SubprocessTest, SignalsAndANewSession) {
  sp::Popen p({"sleep", "10"}, {.start_new_session = true});
  EXPECT_EQ(::getsid(p.pid()), p.pid());
  p.terminate();
  EXPECT_EQ(p.wait(5s), -SIGTERM);
}

// SIGCHLD can fail to reach the loop (a handler other code installed takes it; under TSan a
// signal can be lost): the wait still ends, through the slow waitpid poll beside the child
// watcher. Here a handler of the test's own takes it while the child runs.
TEST_F(SubprocessTest, AWaitEndsEvenWhenTheLoopNeverSeesSigchld) {
  struct sigaction ignore_it {
  }, loops_handler{};
  ignore_it.sa_handler = [](int) {};
  ignore_it.sa_flags = SA_RESTART;
  sp::Popen p({"sleep", "0.5"});
  // Once the wait has armed its watcher (libuv installs its handler then), before the exit.
  auto take_sigchld = gevent::spawn([&] {
    gevent::sleep(50ms);
    ::sigaction(SIGCHLD, &ignore_it, &loops_handler);
  });
  std::optional<int> code;
  try {
    code = p.wait(5s);
  } catch (...) {
  }
  take_sigchld.join();
  ::sigaction(SIGCHLD, &loops_handler, nullptr);
  EXPECT_EQ(code, 0);
}

// From a hub on another thread, children are waited for by polling (libev watches children
// only in its default loop; with libuv, SIGCHLD may belong to the main thread's loop) while
// the main thread's hub also runs, spawns and waits: with libev it reaps every child.
TEST_F(SubprocessTest, WorksFromASecondThreadsHub) {
  std::atomic<bool> finished{false};
  std::string thread_output;
  int thread_code = -100;
  std::size_t thread_echoed = 0;
  std::thread other([&] {
    try {
      thread_output = sp::check_output({"sh", "-c", "sleep 0.05; echo from a thread"});
      thread_code = sp::call({"sh", "-c", "sleep 0.1; exit 5"});
      thread_echoed = sp::check_output({"cat"}, {}, big_input(1 << 20), 10s).size();
    } catch (const std::exception& e) {
      thread_output = std::string("failed: ") + e.what();
    }
    gevent::Hub::destroy_current();
    finished = true;
  });
  sp::Popen mine({"sh", "-c", "sleep 0.05; exit 2"});
  EXPECT_EQ(mine.wait(5s), 2);
  while (!finished) gevent::sleep(5ms);  // this hub keeps running (and, on libev, reaping)
  other.join();
  EXPECT_EQ(thread_output, "from a thread\n");
  EXPECT_EQ(thread_code, 5);
  EXPECT_EQ(thread_echoed, 1u << 20);
}

}  // namespace
