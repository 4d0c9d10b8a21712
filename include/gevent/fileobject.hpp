// gevent.fileobject: buffered file objects whose blocking calls suspend only the calling
// greenlet.
//
//   int fds[2];
//   pipe2(fds, O_CLOEXEC);
//   gevent::FileObject reader{fds[0]}, writer{fds[1]};
//   writer.write("hello\n");
//   writer.flush();
//   std::string line = reader.readline();        // "hello\n"
//
//   gevent::FileObjectThread log = gevent::FileObjectThread::open("/tmp/log", O_WRONLY |
//                                                                 O_CREAT | O_APPEND);
//   log.write("started\n");
//   log.close();                                 // flushes, then closes
//
// FileObjectPosix is for what poll() can wait on: pipes, FIFOs, ttys, sockets given as fds.
// Its fd is made non-blocking, and a read or write that would block waits on the hub.
// FileObjectThread is for regular files, which poll() always calls ready although a read
// may still block on the disk: each raw read or write runs on the hub's thread pool.
// FileObject is FileObjectPosix, as in gevent on POSIX.
//
// The calls (read, read_all, readline, readinto, write, flush) are those of
// detail::BufferedStream, each in two forms: the plain one throws std::system_error, the one
// taking std::error_code& sets it. One greenlet may read while another writes; two readers
// (or two writers) at once throw gevent::ConcurrentObjectUseError. Closing the file while
// another greenlet waits on it wakes that greenlet with io_errc::closed_in_another_greenlet
// (== errc::bad_file_descriptor); calls on a closed file report errc::bad_file_descriptor.
// Destroying a file object while greenlets wait on it is an error, as for sockets: close it
// and let them wake first. Use a file object on the thread of the hub that made it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "gevent/detail/buffered_stream.hpp"
#include "gevent/duration.hpp"
#include "gevent/io_error.hpp"

namespace gevent {

namespace detail {
struct SocketState;
struct ThreadFileState;
class Waiter;
}  // namespace detail

struct FileObjectOptions {
  bool close = true;               // close the fd when the file object is closed (closefd)
  std::size_t buffer_size = 8192;  // bytes read at once, and written before a flush is forced
};

class FileObjectPosix : public detail::BufferedStream {
 public:
  // Wraps an open fd and makes it non-blocking (its flags are given back when the file
  // object closes; they are shared with every dup of the fd). A negative fd:
  // std::invalid_argument.
  explicit FileObjectPosix(int fd, FileObjectOptions options = {});
  FileObjectPosix(FileObjectPosix&&) noexcept = default;
  FileObjectPosix& operator=(FileObjectPosix&&) = delete;
  // Writes what the fd takes without waiting, then closes. Call close() (or flush()) to be
  // sure everything was written, and to see the errors.
  ~FileObjectPosix() override;

  // Flushes (unless another greenlet is writing: its data is dropped), wakes the greenlets
  // waiting on the file, then closes the fd (if owned). Idempotent. The fd is closed even
  // when the flush fails; the flush's error is reported.
  void close();
  void close(std::error_code& ec);
  bool closed() const;
  // The fd, or -1 once closed.
  int fileno() const;

  // None (the default): calls wait as long as it takes; zero: calls that would wait report
  // errc::operation_would_block; otherwise each raw read, and each flush of the buffered
  // output as a whole, waits at most this long (errc::timed_out), as recv and sendall do.
  void settimeout(MaybeDuration timeout);
  MaybeDuration gettimeout() const;

 private:
  std::size_t read_some(std::span<char> buf, std::error_code& ec) override;
  void write_all(std::string_view data, std::size_t& written, std::error_code& ec) override;
  [[noreturn]] void throw_error(std::error_code ec, const char* operation) const override;
  void release_fd();

  std::unique_ptr<detail::SocketState> state_;  // the fd and its watchers, as sockets keep them
  bool owns_fd_;
  int original_flags_ = 0;
};

class FileObjectThread : public detail::BufferedStream {
 public:
  // Wraps an open fd; reads and writes run on the hub's thread pool. Negative fd:
  // std::invalid_argument.
  explicit FileObjectThread(int fd, FileObjectOptions options = {});
  // Opens `path` with open(2) `flags` (O_CLOEXEC is added) on the thread pool. Failure throws
  // std::system_error naming the path.
  static FileObjectThread open(const std::string& path, int flags, mode_t mode = 0666,
                               FileObjectOptions options = {});
  FileObjectThread(FileObjectThread&&) noexcept = default;
  FileObjectThread& operator=(FileObjectThread&&) = delete;
  // Writes what is buffered (blocking this thread for that one write) and closes.
  ~FileObjectThread() override;

  // Flushes (unless another greenlet is writing), wakes the greenlets waiting on the file,
  // and closes the fd (if owned) once no thread-pool job uses it any more. Idempotent.
  void close();
  void close(std::error_code& ec);
  bool closed() const;
  int fileno() const;

 private:
  std::size_t read_some(std::span<char> buf, std::error_code& ec) override;
  void write_all(std::string_view data, std::size_t& written, std::error_code& ec) override;
  [[noreturn]] void throw_error(std::error_code ec, const char* operation) const override;
  void close_and_wake();

  std::shared_ptr<detail::ThreadFileState> state_;  // shared with running jobs
  detail::Waiter* reader_ = nullptr;                // the greenlet waiting for a read job, if any
  detail::Waiter* writer_ = nullptr;
};

// gevent.fileobject.FileObject: the POSIX file object.
using FileObject = FileObjectPosix;

}  // namespace gevent
