// FileObjectThread: raw reads and writes of a regular file run on the hub's thread pool.
#include <fcntl.h>

#include <cerrno>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

#include "gevent/detail/waiter.hpp"
#include "gevent/fileobject.hpp"
#include "gevent/threadpool.hpp"
#include "sys/libc.hpp"

namespace gevent {
namespace detail {

// What the file object shares with its jobs on pool threads. The fd is closed once the file
// object is closed and no job uses it any more, so a job never sees it closed (or reused).
struct ThreadFileState {
  std::mutex mutex;
  int fd;
  bool owns_fd;
  int jobs = 0;         // jobs using fd now
  bool closed = false;  // close() was called

  ThreadFileState(int fd_, bool owns) : fd(fd_), owns_fd(owns) {}

  bool is_closed() {
    std::lock_guard lock(mutex);
    return closed;
  }
  void job_started() {
    std::lock_guard lock(mutex);
    ++jobs;
  }
  void job_finished() {
    std::lock_guard lock(mutex);
    if (--jobs == 0 && closed) close_fd();
  }
  void close() {
    std::lock_guard lock(mutex);
    closed = true;
    if (jobs == 0) close_fd();
  }

 private:
  void close_fd() {
    if (owns_fd && fd >= 0) sys::close(fd);
    fd = -1;
  }
};

}  // namespace detail

namespace {

using detail::ThreadFileState;

// What a job hands back: the syscall's result (a count, or -1) and errno if it failed, and
// the bytes a read got. A job
// reads into, and writes from, buffers of its own: the greenlet that waits for it may leave
// early (the file was closed meanwhile) while the job goes on.
struct JobOutcome {
  ssize_t result = 0;
  int error = 0;
  std::string data;
};

using Job = std::function<JobOutcome(int fd)>;

// Runs job(fd) on the hub's thread pool; the calling greenlet waits for it in `slot`, where
// close() finds it to wake it.
JobOutcome run_on_pool(const std::shared_ptr<ThreadFileState>& state, detail::Waiter*& slot,
                       Job job, std::error_code& ec) {
  ec.clear();
  if (!state || state->is_closed()) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return {};
  }
  state->job_started();
  AsyncResult<JobOutcome> result;
  try {
    result = Hub::current().threadpool().spawn([state, job = std::move(job)] {
      JobOutcome outcome = job(state->fd);
      state->job_finished();
      return outcome;
    });
  } catch (...) {
    state->job_finished();
    throw;
  }
  detail::Waiter waiter({"file I/O on the thread pool"});
  detail::WaiterLink link(waiter);
  result.linkable().rawlink(link);
  slot = &waiter;
  struct Leave {
    detail::Waiter*& slot;
    ~Leave() { slot = nullptr; }
  } leave{slot};
  waiter.wait();
  if (!result.ready()) {
    ec = io_errc::closed_in_another_greenlet;
    return {};
  }
  JobOutcome outcome = std::move(result).get();
  if (outcome.error != 0) ec.assign(outcome.error, std::system_category());
  return outcome;
}

// Retries a syscall interrupted by a signal; the result, or errno in `outcome`.
template <class Call>
JobOutcome retrying(Call call) {
  JobOutcome outcome;
  do {
    outcome.result = call();
  } while (outcome.result < 0 && errno == EINTR);
  if (outcome.result < 0) outcome.error = errno;
  return outcome;
}

std::size_t write_fully(int fd, std::string_view data, int& error) {
  std::size_t done = 0;
  while (done < data.size()) {
    const JobOutcome step =
        retrying([&] { return sys::write(fd, data.data() + done, data.size() - done); });
    if (step.result < 0) {
      error = step.error;
      break;
    }
    done += static_cast<std::size_t>(step.result);
  }
  return done;
}

void check_fd(int fd) {
  if (fd < 0)
    throw std::invalid_argument("gevent::FileObjectThread: invalid fd " + std::to_string(fd));
}

}  // namespace

FileObjectThread::FileObjectThread(int fd, FileObjectOptions options)
    : BufferedStream(options.buffer_size),
      state_((check_fd(fd), std::make_shared<ThreadFileState>(fd, options.close))) {}

FileObjectThread FileObjectThread::open(const std::string& path, int flags, mode_t mode,
                                        FileObjectOptions options) {
  auto opening = Hub::current().threadpool().spawn([path, flags, mode] {
    const int opened = sys::open(path.c_str(), flags | O_CLOEXEC, mode);
    return std::pair{opened, opened < 0 ? errno : 0};
  });
  std::pair<int, int> opened;
  try {
    opened = opening.get();
  } catch (...) {  // interrupted (kill, Timeout): close what the job opens, when it has
    opening.rawlink([](AsyncResult<std::pair<int, int>>& late) {
      if (late.successful() && late.get_nowait().first >= 0) sys::close(late.get_nowait().first);
    });
    throw;
  }
  const auto [fd, error] = opened;
  if (fd < 0)
    throw std::system_error(error, std::system_category(),
                            "gevent::FileObjectThread::open: " + path);
  return FileObjectThread(fd, options);
}

FileObjectThread::~FileObjectThread() {
  if (closed()) return;
  if (!pending_output().empty() && !writer_) {
    int ignored = 0;
    write_fully(state_->fd, pending_output(), ignored);
  }
  close_and_wake();
}

bool FileObjectThread::closed() const { return !state_ || state_->is_closed(); }

int FileObjectThread::fileno() const { return closed() ? -1 : state_->fd; }

void FileObjectThread::close(std::error_code& ec) {
  ec.clear();
  if (closed()) return;
  if (!writer_) flush(ec);
  close_and_wake();
}

void FileObjectThread::close() {
  std::error_code ec;
  close(ec);
  if (ec) throw_error(ec, "close");
}

void FileObjectThread::close_and_wake() {
  state_->close();
  if (reader_) reader_->wake();
  if (writer_) writer_->wake();
}

std::size_t FileObjectThread::read_some(std::span<char> buf, std::error_code& ec) {
  const std::size_t want = buf.size();
  JobOutcome outcome = run_on_pool(
      state_, reader_,
      [want](int fd) {
        std::string chunk(want, '\0');
        JobOutcome read = retrying([&] { return sys::read(fd, chunk.data(), want); });
        chunk.resize(read.result > 0 ? static_cast<std::size_t>(read.result) : 0);
        read.data = std::move(chunk);
        return read;
      },
      ec);
  std::copy(outcome.data.begin(), outcome.data.end(), buf.begin());
  return outcome.data.size();
}

void FileObjectThread::write_all(std::string_view data, std::size_t& written, std::error_code& ec) {
  JobOutcome outcome = run_on_pool(
      state_, writer_,
      [copy = std::string(data)](int fd) {
        JobOutcome written;  // what went out, even when an error stopped it
        written.result = static_cast<ssize_t>(write_fully(fd, copy, written.error));
        return written;
      },
      ec);
  written = static_cast<std::size_t>(outcome.result);
}

void FileObjectThread::throw_error(std::error_code ec, const char* operation) const {
  throw std::system_error(ec, std::string("gevent::FileObjectThread::") + operation);
}

}  // namespace gevent
