// FileObjectPosix: a non-blocking fd whose waits go through the hub.
#include <fcntl.h>

#include <stdexcept>
#include <string>

#include "gevent/fileobject.hpp"
#include "io/fd_io.hpp"
#include "io/socket_state.hpp"
#include "sys/libc.hpp"

namespace gevent {
namespace {

std::error_code bad_fd() { return std::make_error_code(std::errc::bad_file_descriptor); }

// Writes all of data within `deadline`, or stops at an error, counting in `done` what went.
void write_within(detail::SocketState& s, std::string_view data, detail::Deadline& deadline,
                  std::size_t& done, std::error_code& ec) {
  ec.clear();
  while (!ec && done < data.size()) {
    done += detail::retry_io(s, s.write_watch, deadline, ec, [&](int fd) {
      return detail::write_without_sigpipe(fd, data.data() + done, data.size() - done);
    });
  }
}

}  // namespace

FileObjectPosix::FileObjectPosix(int fd, FileObjectOptions options)
    : BufferedStream(options.buffer_size),
      state_(std::make_unique<detail::SocketState>()),
      owns_fd_(options.close) {
  if (fd < 0)
    throw std::invalid_argument("gevent::FileObjectPosix: invalid fd " + std::to_string(fd));
  original_flags_ = sys::fcntl(fd, F_GETFL);
  if (original_flags_ < 0 || sys::fcntl(fd, F_SETFL, original_flags_ | O_NONBLOCK) < 0)
    throw std::system_error(detail::last_os_error(),
                            "gevent::FileObjectPosix: fd " + std::to_string(fd));
  state_->adopt(fd);
}

FileObjectPosix::~FileObjectPosix() {
  if (closed()) return;
  if (!pending_output().empty() && !state_->write_watch.waiting()) {
    detail::Deadline no_wait(Duration::zero());
    std::size_t written = 0;
    std::error_code ignored;
    write_within(*state_, pending_output(), no_wait, written, ignored);
  }
  release_fd();
}

bool FileObjectPosix::closed() const { return !state_ || state_->fd < 0; }

int FileObjectPosix::fileno() const { return closed() ? -1 : state_->fd; }

void FileObjectPosix::settimeout(MaybeDuration timeout) {
  if (state_) state_->timeout = timeout;
}

MaybeDuration FileObjectPosix::gettimeout() const {
  return state_ ? state_->timeout : MaybeDuration{};
}

void FileObjectPosix::close(std::error_code& ec) {
  ec.clear();
  if (closed()) return;
  // A writer waiting now holds the output buffer; its data goes with the file.
  if (!state_->write_watch.waiting()) flush(ec);
  release_fd();
}

void FileObjectPosix::close() {
  std::error_code ec;
  close(ec);
  if (ec) throw_error(ec, "close");
}

void FileObjectPosix::release_fd() {
  const int fd = state_->release_fd(io_errc::closed_in_another_greenlet);
  // The flag belongs to the open file description, which a dup'ed fd (a tty, say) shares
  // with other fds and processes: give it back even when closing this fd.
  sys::fcntl(fd, F_SETFL, original_flags_);
  if (owns_fd_) sys::close(fd);
}

std::size_t FileObjectPosix::read_some(std::span<char> buf, std::error_code& ec) {
  if (closed()) {
    ec = bad_fd();
    return 0;
  }
  return detail::retry_io(*state_, state_->read_watch, ec,
                          [&](int fd) { return sys::read(fd, buf.data(), buf.size()); });
}

void FileObjectPosix::write_all(std::string_view data, std::size_t& written, std::error_code& ec) {
  if (closed()) {
    ec = bad_fd();
    return;
  }
  detail::Deadline deadline(state_->timeout);  // for the whole flush, as sendall
  write_within(*state_, data, deadline, written, ec);
}

void FileObjectPosix::throw_error(std::error_code ec, const char* operation) const {
  throw std::system_error(ec, std::string("gevent::FileObjectPosix::") + operation);
}

}  // namespace gevent
