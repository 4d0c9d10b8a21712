// Run info (gevent/util.hpp): what each greenlet of each hub waits on, who started it, and the
// backtrace of a suspended one; another thread's hub answers for itself, and a blocked one is
// named as such.
#include "gevent/util.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "gevent/config.hpp"
#include "gevent/gevent.hpp"
#include "gevent/os.hpp"
#include "gevent/threadpool.hpp"
#include "support/harness.hpp"

using namespace std::chrono_literals;

namespace {

class RunInfoTest : public gevent::testing::HubTest {
 protected:
  // libunwind keeps a pipe for the life of the process from its first use: before the first
  // test counts the open descriptors.
  static void SetUpTestSuite() { gevent::run_info(); }
};

std::pair<gevent::socket, gevent::socket> tcp_pair() {
  auto server = gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0));
  auto client = gevent::create_connection(server.getsockname(), 5s);
  auto [conn, peer] = server.accept();
  return {std::move(client), std::move(conn)};
}

// Named, and kept out of line, so that its frame shows in the reader's backtrace.
[[gnu::noinline]] std::size_t wait_for_a_byte(gevent::socket& sock) {
  char byte;
  const std::size_t n = sock.recv({&byte, 1});
  asm volatile("" ::: "memory");  // no tail call: this frame stays on the stack
  return n;
}

const gevent::GreenletInfo& find(const gevent::HubInfo& hub, const std::string& name) {
  auto it = std::find_if(hub.greenlets.begin(), hub.greenlets.end(),
                         [&](const gevent::GreenletInfo& g) { return g.name == name; });
  if (it == hub.greenlets.end()) throw std::runtime_error("no greenlet named " + name);
  return *it;
}

std::string address_of(const void* object) {
  char text[32];
  std::snprintf(text, sizeof text, "%#llx",
                static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(object)));
  return text;
}

// Five greenlets, each waiting on something else, and the main greenlet asking.
struct FiveWaits {
  std::pair<gevent::socket, gevent::socket> pair = tcp_pair();
  gevent::Event event;
  gevent::Queue<int> queue;
  gevent::Greenlet<void> sleeper{[] { gevent::sleep(30s); }};
  gevent::Greenlet<std::size_t> reader{[this] { return wait_for_a_byte(pair.second); }};
  gevent::Greenlet<void> event_waiter{[this] { event.wait(); }};
  gevent::Greenlet<int> getter{[this] { return queue.get(); }};
  gevent::Greenlet<void> joiner{[this] { sleeper.join(); }};

  FiveWaits() {
    sleeper.set_name("sleeper");
    reader.set_name("reader");
    event_waiter.set_name("event waiter");
    getter.set_name("getter");
    joiner.set_name("joiner");
    for (gevent::AnyGreenlet g : {gevent::AnyGreenlet(sleeper), gevent::AnyGreenlet(reader),
                                  gevent::AnyGreenlet(event_waiter), gevent::AnyGreenlet(getter),
                                  gevent::AnyGreenlet(joiner)})
      g.start();
    gevent::sleep(10ms);  // each runs to its wait
  }
  ~FiveWaits() { gevent::killall({sleeper, reader, event_waiter, getter, joiner}); }
  void check(const gevent::HubInfo& hub, std::uint64_t main_id) const {
    using State = gevent::GreenletInfo::State;
    const auto& read = find(hub, "reader");
    EXPECT_EQ(read.state, State::waiting);
    EXPECT_EQ(read.waiting_for, "read on fd " + std::to_string(pair.second.fileno()));
    EXPECT_EQ(read.started_by, main_id);
    EXPECT_GT(read.age, 0ns);
    EXPECT_LT(read.age, 10s);
    EXPECT_EQ(find(hub, "sleeper").waiting_for.rfind("sleep (", 0), 0u)
        << find(hub, "sleeper").waiting_for;
    EXPECT_EQ(find(hub, "event waiter").waiting_for, "Event at " + address_of(&event));
    EXPECT_EQ(find(hub, "getter").waiting_for, "Queue.get at " + address_of(&queue));
    EXPECT_EQ(find(hub, "joiner").waiting_for,
              "join greenlet " + std::to_string(sleeper.minimal_ident()) + " \"sleeper\"");
    for (const char* name : {"sleeper", "reader", "event waiter", "getter", "joiner"})
      EXPECT_EQ(find(hub, name).state, State::waiting) << name;
  }
};

TEST_F(RunInfoTest, NamesWhatEachGreenletWaitsOn) {
  FiveWaits five;
  const auto hubs = gevent::run_info();
  ASSERT_EQ(hubs.size(), 1u);
  const gevent::HubInfo& hub = hubs[0];
  EXPECT_TRUE(hub.answered);
  EXPECT_EQ(hub.thread_id, ::gettid());
  EXPECT_EQ(hub.backend, gevent::get_hub().backend());
  ASSERT_EQ(hub.greenlets.size(), 6u);
  EXPECT_EQ(hub.greenlets[0].name, "MainGreenlet");
  EXPECT_TRUE(hub.greenlets[0].main);
  EXPECT_EQ(hub.greenlets[0].state, gevent::GreenletInfo::State::running);
  five.check(hub, gevent::get_hub().main_greenlet().id());
}

TEST_F(RunInfoTest, NamesTheGreenletThatStartedEach) {
  gevent::Event never;
  gevent::Greenlet<void> child{[&] { never.wait(); }};
  child.set_name("child");
  gevent::Greenlet<void> parent{[&] { child.start(); }};
  gevent::Greenlet<void> from_hub{[&] { never.wait(); }};
  from_hub.set_name("from the hub");
  parent.start();
  gevent::get_hub().run_callback([&] { from_hub.start(); });
  gevent::sleep(10ms);
  const auto hub = gevent::run_info()[0];
  EXPECT_EQ(find(hub, "child").started_by, parent.minimal_ident());
  EXPECT_EQ(find(hub, "from the hub").started_by, gevent::GreenletInfo::kStartedByHub);
  EXPECT_NE(gevent::format_run_info().find("\"from the hub\", started by the hub "),
            std::string::npos);
  gevent::killall({child, from_hub});
}

// Touches `bytes` of stack below the caller, then waits with that frame still on the stack.
[[gnu::noinline]] void wait_deep(std::size_t bytes, gevent::Event& never) {
  auto* block = static_cast<volatile char*>(__builtin_alloca(bytes));
  for (std::size_t i = 0; i < bytes; i += 512) block[i] = 1;
  never.wait();
  asm volatile("" ::: "memory");
}

TEST_F(RunInfoTest, GivesEachGreenletsStackHighWaterMark) {
  constexpr std::size_t kDeep = 64 * 1024;
  gevent::Event never;
  gevent::Greenlet<void> deep{[&] { wait_deep(kDeep, never); }};
  deep.set_name("deep");
  deep.start();
  gevent::sleep(10ms);
  const auto hub = gevent::run_info()[0];
  const auto& info = find(hub, "deep");
  EXPECT_GE(info.stack_size, gevent::config().stack_size);
  EXPECT_GE(info.stack_high_water, kDeep);
  EXPECT_LE(info.stack_high_water, info.stack_size);
  EXPECT_EQ(find(hub, "MainGreenlet").stack_high_water, 0u);  // the thread's own stack
  EXPECT_NE(gevent::format_run_info().find("\"deep\", started by"), std::string::npos);
  deep.kill();
}

TEST_F(RunInfoTest, UnwindsASuspendedGreenletsStack) {
  FiveWaits five;
  const auto hubs = gevent::run_info();
  ASSERT_EQ(hubs.size(), 1u);
  const std::string& frames = find(hubs[0], "reader").backtrace;
  EXPECT_NE(frames.find("wait_for_a_byte"), std::string::npos) << frames;
  if (GEVENT_TEST_DEBUG_INFO) {  // file:line from the test's own line table
    EXPECT_NE(frames.find(" at " __FILE__ ":"), std::string::npos) << frames;
  }
  EXPECT_NE(frames.find("#0 "), std::string::npos) << frames;
  EXPECT_TRUE(find(hubs[0], "MainGreenlet").backtrace.empty());  // running: not unwound

  gevent::RunInfoOptions without;
  without.greenlet_stacks = false;
  EXPECT_TRUE(find(gevent::run_info(without)[0], "reader").backtrace.empty());
}

TEST_F(RunInfoTest, FormatsOneLinePerGreenlet) {
  FiveWaits five;
  const std::string text = gevent::format_run_info();
  EXPECT_NE(text.find("hub of thread " + std::to_string(::gettid()) + " ("), std::string::npos)
      << text;
  EXPECT_NE(text.find("greenlet " + std::to_string(five.reader.minimal_ident()) +
                      " \"reader\", started by " +
                      std::to_string(gevent::get_hub().main_greenlet().id())),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(": waiting for read on fd " + std::to_string(five.pair.second.fileno())),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("wait_for_a_byte"), std::string::npos) << text;
}

// A thread pool's thread asks while the main greenlet waits for it: the hub answers for
// itself, from its loop.
TEST_F(RunInfoTest, AHubAnswersAnotherThread) {
  FiveWaits five;
  auto hubs = gevent::get_hub().threadpool().apply([] { return gevent::run_info(); });
  ASSERT_EQ(hubs.size(), 1u);  // the pool's threads have no hubs
  EXPECT_TRUE(hubs[0].answered);
  EXPECT_EQ(hubs[0].thread_id, ::gettid());
  const auto& main = find(hubs[0], "MainGreenlet");
  EXPECT_EQ(main.state, gevent::GreenletInfo::State::waiting);
  EXPECT_EQ(main.waiting_for.rfind("AsyncResult at ", 0), 0u) << main.waiting_for;
  EXPECT_NE(main.backtrace.find("RunInfoTest"), std::string::npos) << main.backtrace;
  five.check(hubs[0], gevent::get_hub().main_greenlet().id());
}

// A hub whose thread is blocked (here in pthread_join, outside gevent) cannot answer: it is
// named, with its thread's system call, after `patience`.
TEST_F(RunInfoTest, ABlockedHubIsNamedAfterThePatience) {
  gevent::get_hub();
  std::vector<gevent::HubInfo> hubs;
  std::thread asker([&] {
    gevent::RunInfoOptions options;
    options.patience = 200ms;
    hubs = gevent::run_info(options);
  });
  asker.join();
  ASSERT_EQ(hubs.size(), 1u);
  EXPECT_FALSE(hubs[0].answered);
  EXPECT_EQ(hubs[0].thread_id, ::gettid());
  EXPECT_EQ(hubs[0].thread_state.rfind("in system call ", 0), 0u) << hubs[0].thread_state;
  EXPECT_NE(gevent::format_run_info().find("hub of thread"), std::string::npos);
  gevent::sleep(0ms);  // the hub runs the request that came late, and drops it
}

// GEVENT_DUMP_SIGNAL: the signal makes a thread of gevent's print run info on stderr.
class DumpSignalTest : public RunInfoTest {
 protected:
  // The handler, its pipe and its thread stay for the life of the process: armed before the
  // first test counts the open descriptors.
  static void SetUpTestSuite() {
    RunInfoTest::SetUpTestSuite();
    gevent::config().dump_signal = SIGUSR2;
    gevent::Hub::current();
    gevent::Hub::destroy_current();
    gevent::config().dump_signal = 0;
  }
};

// Where stderr goes while it lives: a file, read back.
class CapturedStderr {
 public:
  CapturedStderr() : file_(std::tmpfile()), saved_(::dup(2)) {
    std::fflush(stderr);
    ::dup2(::fileno(file_), 2);
  }
  ~CapturedStderr() {
    ::dup2(saved_, 2);
    ::close(saved_);
    std::fclose(file_);
  }
  std::string text() const {
    std::string text(static_cast<std::size_t>(::lseek(::fileno(file_), 0, SEEK_END)), '\0');
    if (::pread(::fileno(file_), text.data(), text.size(), 0) < 0) return {};
    return text;
  }

 private:
  std::FILE* file_;
  int saved_;
};

#if !GEVENT_TSAN  // TSan does not support fork in a threaded program (tests/io/test_fork.cpp)
// A forked child has no dump thread of the parent's: Hub::reinit() starts its own, on a pipe
// of its own. (The test after this one checks that the parent's thread still answers.)
TEST_F(DumpSignalTest, AForkedChildPrintsItsOwnRunInfo) {
  gevent::config().dump_signal = SIGUSR2;
  struct Restore {
    ~Restore() { gevent::config().dump_signal = 0; }
  } restore;
  const pid_t pid = gevent::fork();
  if (pid == 0) {
    ::alarm(10);  // a child that hangs must not outlive the test
    int code = 1;
    {
      CapturedStderr captured;
      ::kill(::getpid(), SIGUSR2);
      const std::string own = "hub of thread " + std::to_string(::gettid());
      for (int i = 0; i < 500 && code != 0; ++i) {
        gevent::sleep(10ms);
        if (captured.text().find(own) != std::string::npos) code = 0;
      }
    }
    ::_exit(code);
  }
  ASSERT_GT(pid, 0);
  const auto [reaped, status] = gevent::os::waitpid(pid);
  EXPECT_EQ(reaped, pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}
#endif

TEST_F(DumpSignalTest, TheSignalPrintsRunInfoOnStderr) {
  FiveWaits five;
  const std::string reader_line = "\"reader\", started by";
  std::string printed;
  {
    CapturedStderr captured;
    ASSERT_EQ(::kill(::getpid(), SIGUSR2), 0);
    for (int i = 0; i < 500 && printed.find(reader_line) == std::string::npos; ++i) {
      gevent::sleep(10ms);  // the hub answers the dump thread from its loop
      printed = captured.text();
    }
  }
  EXPECT_NE(printed.find("hub of thread " + std::to_string(::gettid())), std::string::npos)
      << printed;
  EXPECT_NE(printed.find(reader_line), std::string::npos) << printed;
  EXPECT_NE(printed.find("waiting for read on fd " + std::to_string(five.pair.second.fileno())),
            std::string::npos)
      << printed;
}

TEST(DumpSignalConfigDeathTest, TheVariableIsReadAndChecked) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const char* form : {"SIGUSR2", "USR2", "12"})
    EXPECT_EXIT(
        {
          ::setenv("GEVENT_DUMP_SIGNAL", form, 1);
          std::exit(gevent::config().dump_signal == SIGUSR2 ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "")
        << form;
  for (const char* bad : {"SIGKILL", "SIGCHLD", "USR3", "0", "32", "65", "12x"})
    gevent::testing::expect_config_rejects(
        "GEVENT_DUMP_SIGNAL", bad, ("GEVENT_DUMP_SIGNAL='" + std::string(bad) + "'").c_str());
}

}  // namespace
