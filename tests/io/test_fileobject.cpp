// FileObjectPosix over real pipes, FileObjectThread over real temporary files (and a pipe,
// where a pool thread really blocks).
#include <gevent/fileobject.hpp>
#include <gevent/gevent.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class FileObjectTest : public HubTest {};

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end = fds[0];
    write_end = fds[1];
  }
};

// A temporary file's path; the file is removed at the end of the test.
class TempPath {
 public:
  TempPath() {
    char path[] = "/tmp/gevent-fileobject-XXXXXX";
    const int fd = ::mkstemp(path);
    EXPECT_GE(fd, 0);
    ::close(fd);
    path_ = path;
  }
  ~TempPath() { ::unlink(path_.c_str()); }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

template <class F>
std::error_code error_of(F f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code();
  }
  return {};
}

TEST_F(FileObjectTest, LinesCrossAPipeWhileOtherGreenletsRun) {
  Pipe p;
  gevent::FileObject reader{p.read_end, {.buffer_size = 5}};  // lines span several reads
  gevent::FileObject writer{p.write_end};
  int ticks = 0;
  auto ticker = gevent::spawn([&] {
    for (int i = 0; i < 5; ++i, ++ticks) gevent::sleep(1ms);
  });
  auto producer = gevent::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      writer.write("line " + std::to_string(i) + "\n");
      writer.flush();
      gevent::sleep(2ms);
    }
    writer.write("tail without newline");
    writer.close();
  });
  EXPECT_EQ(reader.readline(), "line 0\n");
  EXPECT_EQ(reader.readline(3), "lin");
  EXPECT_EQ(reader.readline(), "e 1\n");
  EXPECT_EQ(reader.read(4), "line");
  EXPECT_EQ(reader.read_all(), " 2\ntail without newline");
  EXPECT_EQ(reader.read(1), "");
  producer.join();
  ticker.join();
  EXPECT_EQ(ticks, 5);
  EXPECT_TRUE(writer.closed());
  EXPECT_EQ(writer.fileno(), -1);
}

TEST_F(FileObjectTest, MegabytesFlowThroughAFullPipe) {
  Pipe p;
  gevent::FileObject reader{p.read_end}, writer{p.write_end};
  std::string data;
  for (int i = 0; i < 4 * 1024 * 1024; ++i) data += static_cast<char>('a' + i % 23);
  auto producer = gevent::spawn([&] {
    writer.write(data);  // far more than the pipe holds: waits for the reader
    writer.close();
  });
  const std::string got = reader.read_all();
  producer.join();
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST_F(FileObjectTest, ReadsTimeOutInBothErrorForms) {
  Pipe p;
  gevent::FileObject reader{p.read_end}, writer{p.write_end};
  reader.settimeout(20ms);
  EXPECT_EQ(reader.gettimeout().value(), std::chrono::nanoseconds(20ms));
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  EXPECT_EQ(reader.readline(SIZE_MAX, ec), "");
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 15ms);
  EXPECT_EQ(error_of([&] { reader.read(1); }), std::errc::timed_out);
  reader.settimeout(std::chrono::seconds(0));
  EXPECT_EQ(error_of([&] { reader.read(1); }), std::errc::operation_would_block);
  writer.write("x");
  writer.flush();
  EXPECT_EQ(reader.read(1), "x");
}

TEST_F(FileObjectTest, EnclosingTimeoutInterruptsAReadWithoutLosingData) {
  Pipe p;
  gevent::FileObject reader{p.read_end, {.buffer_size = 4}}, writer{p.write_end};
  writer.write("ab");
  writer.flush();
  try {
    gevent::Timeout t{10ms};
    reader.read(10);  // gets "ab", then waits for more
    ADD_FAILURE() << "the read was not interrupted";
  } catch (const gevent::Timeout&) {
  }
  writer.write("cd\n");
  writer.flush();
  EXPECT_EQ(reader.readline(), "abcd\n");  // nothing lost, nothing made up
}

TEST_F(FileObjectTest, ClosingWakesTheGreenletWaitingOnTheFile) {
  Pipe p;
  gevent::FileObject reader{p.read_end}, writer{p.write_end};
  auto waiting = gevent::spawn([&] {
    std::error_code ec;
    reader.readline(SIZE_MAX, ec);
    return ec;
  });
  gevent::sleep(2ms);
  reader.close();
  const std::error_code ec = waiting.get();
  EXPECT_EQ(ec, gevent::io_errc::closed_in_another_greenlet);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  EXPECT_EQ(error_of([&] { reader.read(1); }), std::errc::bad_file_descriptor);
  reader.close();  // idempotent
}

TEST_F(FileObjectTest, TwoReadersAtOnceIsAnError) {
  Pipe p;
  gevent::FileObject reader{p.read_end}, writer{p.write_end};
  auto first = gevent::spawn([&] { return reader.read(3); });
  gevent::sleep(1ms);
  EXPECT_THROW(reader.read(1), gevent::ConcurrentObjectUseError);
  writer.write("abc");
  writer.flush();
  EXPECT_EQ(first.get(), "abc");
}

TEST_F(FileObjectTest, WritingToAPipeWithoutReaderReportsEpipe) {
  Pipe p;
  ::close(p.read_end);
  gevent::FileObject writer{p.write_end};
  writer.write("nobody listens");
  std::error_code ec;
  writer.flush(ec);  // no SIGPIPE: the process lives on to see the error
  EXPECT_EQ(ec, std::errc::broken_pipe);
  EXPECT_EQ(error_of([&] { writer.close(); }), std::errc::broken_pipe);
  EXPECT_TRUE(writer.closed());
}

// /dev/zero never blocks: a greenlet reading it never waits. It still yields once it has run
// past the hub's budget, so a ticker keeps ticking (without the budget it would tick 0 times).
TEST_F(FileObjectTest, AReaderThatNeverWaitsStillLetsOtherGreenletsRun) {
  gevent::FileObject zeros{::open("/dev/zero", O_RDONLY | O_CLOEXEC)};
  int ticks = 0;
  bool reading = true;
  auto ticker = gevent::spawn([&] {
    while (reading) {
      gevent::sleep(1ms);
      ++ticks;
    }
  });
  gevent::sleep(0ms);  // the ticker is asleep now
  int ticks_while_reading = 0;
  const auto until = std::chrono::steady_clock::now() + 100ms;
  char buf[4096];
  while (std::chrono::steady_clock::now() < until) ASSERT_EQ(zeros.readinto(buf), sizeof buf);
  ticks_while_reading = ticks;
  reading = false;
  ticker.join();
  EXPECT_GE(ticks_while_reading, 5);
}

TEST_F(FileObjectTest, AnFdNotOwnedStaysOpenWithItsFlags) {
  Pipe p;
  {
    gevent::FileObject reader{p.read_end, {.close = false}};
    EXPECT_NE(::fcntl(p.read_end, F_GETFL) & O_NONBLOCK, 0);
    reader.close();
  }
  EXPECT_EQ(::fcntl(p.read_end, F_GETFL) & O_NONBLOCK, 0);  // blocking again, still open
  gevent::FileObject{::dup(p.read_end)}.close();  // a dup shares the flags: given back too
  EXPECT_EQ(::fcntl(p.read_end, F_GETFL) & O_NONBLOCK, 0);
  ::close(p.read_end);
  ::close(p.write_end);
  EXPECT_THROW(gevent::FileObject{-1}, std::invalid_argument);
}

TEST_F(FileObjectTest, ThreadFileWritesAndReadsARegularFile) {
  TempPath path;
  std::size_t written = 0;
  {
    auto out = gevent::FileObjectThread::open(path.str(), O_WRONLY | O_TRUNC);
    out.write("first line\n");
    written += 11;
    for (int i = 0; i < 1000; ++i) {
      const std::string row = "row " + std::to_string(i) + "\n";
      out.write(row);
      written += row.size();
    }
    out.close();
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.str().c_str(), &st), 0);
  EXPECT_EQ(static_cast<std::size_t>(st.st_size), written);
  auto in = gevent::FileObjectThread::open(path.str(), O_RDONLY, 0, {.buffer_size = 100});
  EXPECT_EQ(in.readline(), "first line\n");
  EXPECT_EQ(in.readline(), "row 0\n");
  const std::string rest = in.read_all();
  EXPECT_EQ(rest.substr(rest.size() - 8), "row 999\n");
  EXPECT_EQ(in.read(10), "");
  in.close();
  EXPECT_EQ(in.fileno(), -1);
  EXPECT_EQ(error_of([&] { in.read(1); }), std::errc::bad_file_descriptor);
}

TEST_F(FileObjectTest, ThreadFileOpenFailureNamesThePath) {
  try {
    gevent::FileObjectThread::open("/nonexistent/dir/file", O_RDONLY);
    ADD_FAILURE() << "open did not fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/file"), std::string::npos);
  }
}

TEST_F(FileObjectTest, ThreadFileDestructorWritesWhatIsBuffered) {
  TempPath path;
  {
    auto out = gevent::FileObjectThread::open(path.str(), O_WRONLY | O_APPEND);
    out.write("kept");
  }
  auto in = gevent::FileObjectThread::open(path.str(), O_RDONLY);
  EXPECT_EQ(in.read_all(), "kept");
}

// A pool thread really blocks in read() on an empty pipe: closing the file object wakes the
// waiting greenlet at once, and the fd is closed only when that read has returned.
TEST_F(FileObjectTest, ClosingAThreadFileWakesTheWaiterAndDefersTheClose) {
  Pipe p;
  gevent::FileObjectThread reader{p.read_end};
  auto waiting = gevent::spawn([&] {
    std::error_code ec;
    reader.read(1, ec);
    return ec;
  });
  gevent::sleep(20ms);  // the job is blocked in read() on a pool thread
  reader.close();
  EXPECT_EQ(waiting.get(), gevent::io_errc::closed_in_another_greenlet);
  EXPECT_NE(::fcntl(p.read_end, F_GETFD), -1) << "closed under a running read";
  ASSERT_EQ(::write(p.write_end, "x", 1), 1);  // lets the read return
  EXPECT_TRUE(gevent::get_hub().join(5s));
  EXPECT_EQ(::fcntl(p.read_end, F_GETFD), -1) << "not closed once the read returned";
  ::close(p.write_end);
}

}  // namespace
