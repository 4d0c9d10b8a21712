#include "gevent/socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <atomic>
#include <cstring>
#include <type_traits>

#include "gevent/detail/or_throw.hpp"
#include "gevent/exceptions.hpp"
#include "gevent/resolver.hpp"
#include "gevent/socket_file.hpp"
#include "io/socket_state.hpp"
#include "sys/libc.hpp"

namespace gevent {
namespace detail {

std::error_code SocketState::wait(SideWatch& watch, Deadline& deadline) {
  if (deadline.nonblocking()) return std::make_error_code(std::errc::operation_would_block);
  return watch.wait(deadline.remaining());
}

void throw_io_error(std::error_code ec, const char* what) {
  throw std::system_error(ec, std::string("gevent::socket::") + what);
}

}  // namespace detail

using detail::retry_io;
using detail::throw_if;

namespace {

// -1 (none) or the default timeout in nanoseconds.
std::atomic<Duration::rep> default_timeout{-1};

void set_nonblocking(int fd) {
  const int flags = sys::fcntl(fd, F_GETFL);
  if (flags < 0 || sys::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    detail::throw_io_error(detail::last_os_error(), "from_fd");
}

std::error_code bad_fd() { return std::make_error_code(std::errc::bad_file_descriptor); }

std::unique_ptr<detail::SocketState> new_state(int fd, int family, int type,
                                               MaybeDuration timeout) {
  auto state = std::make_unique<detail::SocketState>();
  state->adopt(fd);
  state->family = family;
  state->type = type;
  state->timeout = timeout;
  return state;
}

// A default-constructed or moved-from socket has no state: errc::bad_file_descriptor.
bool missing(const std::unique_ptr<detail::SocketState>& state, std::error_code& ec) {
  if (state) return false;
  ec = bad_fd();
  return true;
}

// Runs a call that never waits (bind, listen, shutdown) on the socket's fd; its error in ec.
template <class Call>
void call_now(const detail::SocketState* s, std::error_code& ec, Call call) {
  if (!s || s->fd < 0)
    ec = bad_fd();
  else if (call(s->fd) < 0)
    ec = detail::last_os_error();
  else
    ec.clear();
}

// The throwing form of a call made with std::error_code&.
template <class F>
auto or_throw(const char* what, F f) {
  return detail::or_throw(f, [what](std::error_code ec) { detail::throw_io_error(ec, what); });
}

// recv flags (MSG_PEEK, ...) and datagram calls have no meaning through TLS: refused, rather
// than silently bypassing the TLS stream.
std::size_t not_through_tls(std::error_code& ec) {
  ec = std::make_error_code(std::errc::operation_not_supported);
  return 0;
}

}  // namespace

void setdefaulttimeout(MaybeDuration timeout) {
  default_timeout = timeout ? timeout.value().count() : -1;
}

MaybeDuration getdefaulttimeout() {
  const auto ns = default_timeout.load();
  if (ns < 0) return {};
  return Duration(ns);
}

socket::socket() noexcept = default;

socket::socket(std::unique_ptr<detail::SocketState> state) noexcept : state_(std::move(state)) {}

socket::socket(int family, int type, int protocol) {
  const int fd = sys::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) detail::throw_io_error(detail::last_os_error(), "socket");
  state_ = new_state(fd, family, type, getdefaulttimeout());
}

socket socket::from_fd(int fd) {
  set_nonblocking(fd);
  int family = AF_UNSPEC, type = 0;
  socklen_t len = sizeof(int);
  sys::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len);
  len = sizeof(int);
  sys::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
  return socket(new_state(fd, family, type, getdefaulttimeout()));
}

socket::socket(socket&& other) noexcept = default;

socket& socket::operator=(socket&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::move(other.state_);
  }
  return *this;
}

socket::~socket() { close(); }

int socket::fileno() const { return state_ ? state_->fd : -1; }

void socket::close() {
  if (fileno() >= 0) sys::close(state_->release_fd(io_errc::closed_in_another_greenlet));
}

int socket::detach() { return fileno() >= 0 ? state_->release_fd(bad_fd()) : -1; }

void socket::bind(const address& local, std::error_code& ec) {
  call_now(state_.get(), ec, [&](int fd) { return sys::bind(fd, local.data(), local.size()); });
}

void socket::bind(const address& local) {
  or_throw("bind", [&](std::error_code& ec) { bind(local, ec); });
}

void socket::listen(int backlog, std::error_code& ec) {
  call_now(state_.get(), ec, [&](int fd) { return sys::listen(fd, backlog); });
}

void socket::listen(int backlog) {
  or_throw("listen", [&](std::error_code& ec) { listen(backlog, ec); });
}

std::pair<socket, address> socket::accept(std::error_code& ec) {
  if (missing(state_, ec)) return {socket(), address()};
  address peer;
  socklen_t len = peer.capacity();
  const auto fd = retry_io(*state_, state_->read_watch, ec, [&](int listener) {
    len = peer.capacity();
    return sys::accept4(listener, peer.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  });
  if (ec) return {socket(), address()};
  peer.resize(len);
  return {
      socket(new_state(static_cast<int>(fd), state_->family, state_->type, getdefaulttimeout())),
      peer};
}

std::pair<socket, address> socket::accept() {
  return or_throw("accept", [&](std::error_code& ec) { return accept(ec); });
}

void socket::connect(const address& peer, std::error_code& ec) {
  if (fileno() < 0) {
    ec = bad_fd();
    return;
  }
  if (sys::connect(state_->fd, peer.data(), peer.size()) == 0) {
    ec.clear();
    return;
  }
  if (errno != EINPROGRESS && errno != EINTR) {
    ec = detail::last_os_error();
    return;
  }
  detail::Deadline deadline(state_->timeout);
  if ((ec = state_->wait(state_->write_watch, deadline))) return;
  int err = 0;
  socklen_t len = sizeof(err);
  sys::getsockopt(state_->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err)
    ec.assign(err, std::system_category());
  else
    ec.clear();
}

void socket::connect(const address& peer) {
  or_throw("connect", [&](std::error_code& ec) { connect(peer, ec); });
}

int socket::connect_ex(const address& peer) {
  std::error_code ec;
  connect(peer, ec);
  if (!ec) return 0;
  return ec.category() == std::system_category() ? ec.value()
                                                 : ec.default_error_condition().value();
}

namespace detail {

std::size_t recv_within(SocketState& s, std::span<char> buf, int flags, Deadline& deadline,
                        std::error_code& ec) {
  if (s.tls) {
    if (flags != 0) return not_through_tls(ec);
    return s.tls->recv(s, buf, deadline, ec);
  }
  const auto n = retry_io(s, s.read_watch, deadline, ec,
                          [&](int fd) { return sys::recv(fd, buf.data(), buf.size(), flags); });
  // A stream read that did not fill the buffer emptied the socket: the next recv waits for
  // the edge instead of first failing with EAGAIN (one syscall less per request/response).
  if (n > 0 && n < buf.size() && flags == 0 && s.type == SOCK_STREAM) s.read_watch.drained();
  return n;
}

std::size_t recv_now(SocketState& s, std::span<char> buf, std::error_code& ec) {
  if (!s.tls && !s.read_watch.maybe_ready()) {
    ec = std::make_error_code(std::errc::operation_would_block);
    return 0;
  }
  Deadline now(Duration::zero());
  return recv_within(s, buf, 0, now, ec);
}

}  // namespace detail

std::size_t socket::recv(std::span<char> buf, int flags, std::error_code& ec) {
  if (missing(state_, ec)) return 0;
  detail::Deadline deadline(state_->timeout);
  return detail::recv_within(*state_, buf, flags, deadline, ec);
}

std::size_t socket::recv(std::span<char> buf, int flags) {
  return or_throw("recv", [&](std::error_code& ec) { return recv(buf, flags, ec); });
}

std::pair<std::size_t, address> socket::recvfrom(std::span<char> buf, int flags,
                                                 std::error_code& ec) {
  address peer;
  if (missing(state_, ec)) return {0, peer};
  if (state_->tls) return {not_through_tls(ec), peer};
  socklen_t len = 0;
  const auto n = retry_io(*state_, state_->read_watch, ec, [&](int fd) {
    len = peer.capacity();
    return sys::recvfrom(fd, buf.data(), buf.size(), flags, peer.data(), &len);
  });
  if (!ec) peer.resize(len);
  return {n, peer};
}

std::pair<std::size_t, address> socket::recvfrom(std::span<char> buf, int flags) {
  return or_throw("recvfrom", [&](std::error_code& ec) { return recvfrom(buf, flags, ec); });
}

namespace {

std::size_t send_some(detail::SocketState& s, std::string_view data, int flags,
                      detail::Deadline& deadline, std::error_code& ec) {
  if (s.tls) return flags == 0 ? s.tls->send(s, data, deadline, ec) : not_through_tls(ec);
  return retry_io(s, s.write_watch, deadline, ec, [&](int fd) {
    return sys::send(fd, data.data(), data.size(), flags | MSG_NOSIGNAL);
  });
}

}  // namespace

std::size_t socket::send(std::string_view data, int flags, std::error_code& ec) {
  if (missing(state_, ec)) return 0;
  detail::Deadline deadline(state_->timeout);
  return send_some(*state_, data, flags, deadline, ec);
}

std::size_t socket::send(std::string_view data, int flags) {
  return or_throw("send", [&](std::error_code& ec) { return send(data, flags, ec); });
}

void socket::sendall(std::string_view data, int flags, std::error_code& ec, std::size_t* sent) {
  std::size_t done = 0;
  ec.clear();
  if (!state_) ec = bad_fd();
  detail::Deadline deadline(state_ ? state_->timeout : MaybeDuration{});  // for the whole call
  while (!ec && done < data.size())
    done += send_some(*state_, data.substr(done), flags, deadline, ec);
  if (sent) *sent = done;
}

void socket::sendall(std::string_view data, int flags) {
  or_throw("sendall", [&](std::error_code& ec) { sendall(data, flags, ec); });
}

std::size_t socket::sendto(std::string_view data, const address& peer, int flags,
                           std::error_code& ec) {
  if (missing(state_, ec)) return 0;
  if (state_->tls) return not_through_tls(ec);
  return retry_io(*state_, state_->write_watch, ec, [&](int fd) {
    return sys::sendto(fd, data.data(), data.size(), flags | MSG_NOSIGNAL, peer.data(),
                       peer.size());
  });
}

std::size_t socket::sendto(std::string_view data, const address& peer, int flags) {
  return or_throw("sendto", [&](std::error_code& ec) { return sendto(data, peer, flags, ec); });
}

namespace {

// sendfile(2) is not possible through TLS: read the file and send what was read. Not
// inlined: its 16 KiB buffer would otherwise widen the frames of sendfile's callers.
[[gnu::noinline]] std::size_t sendfile_by_copy(socket& s, int file_fd, off_t offset,
                                               std::size_t count, std::error_code& ec) {
  char buf[16384];
  std::size_t total = 0;
  while (total < count) {
    const auto want = std::min(sizeof(buf), count - total);
    const auto n = sys::pread(file_fd, buf, want, offset + static_cast<off_t>(total));
    if (n < 0) {
      if (errno == EINTR) continue;
      ec = detail::last_os_error();
      return total;
    }
    if (n == 0) break;
    std::size_t sent = 0;
    s.sendall({buf, static_cast<std::size_t>(n)}, 0, ec, &sent);
    total += sent;
    if (ec) return total;
  }
  ec.clear();
  return total;
}

}  // namespace

std::size_t socket::sendfile(int file_fd, off_t offset, std::optional<std::size_t> count,
                             std::error_code& ec) {
  if (!state_ || state_->fd < 0) {
    ec = bad_fd();
    return 0;
  }
  const std::size_t limit = count.value_or(SIZE_MAX);
  if (state_->tls) return sendfile_by_copy(*this, file_fd, offset, limit, ec);
  std::size_t total = 0;
  while (total < limit) {
    off_t at = offset + static_cast<off_t>(total);
    const auto chunk = std::min<std::size_t>(limit - total, 1 << 30);
    const auto n = retry_io(*state_, state_->write_watch, ec,
                            [&](int fd) { return sys::sendfile(fd, file_fd, &at, chunk); });
    if (ec || n == 0) break;
    total += n;
  }
  return total;
}

std::size_t socket::sendfile(int file_fd, off_t offset, std::optional<std::size_t> count) {
  return or_throw("sendfile",
                  [&](std::error_code& ec) { return sendfile(file_fd, offset, count, ec); });
}

void socket::shutdown(int how, std::error_code& ec) {
  call_now(state_.get(), ec, [&](int fd) { return sys::shutdown(fd, how); });
}

void socket::shutdown(int how) {
  or_throw("shutdown", [&](std::error_code& ec) { shutdown(how, ec); });
}

void socket::settimeout(MaybeDuration timeout) {
  if (!state_) state_ = std::make_unique<detail::SocketState>();
  state_->timeout = timeout;
}

MaybeDuration socket::gettimeout() const { return state_ ? state_->timeout : MaybeDuration{}; }

void socket::setblocking(bool blocking) {
  settimeout(blocking ? MaybeDuration{} : MaybeDuration{Duration::zero()});
}

void socket::setsockopt(int level, int name, const void* value, socklen_t size) {
  if (sys::setsockopt(fileno(), level, name, value, size) < 0)
    detail::throw_io_error(fileno() < 0 ? bad_fd() : detail::last_os_error(), "setsockopt");
}

void socket::setsockopt(int level, int name, int value) {
  setsockopt(level, name, &value, sizeof(value));
}

int socket::getsockopt(int level, int name) const {
  int value = 0;
  socklen_t len = sizeof(value);
  if (sys::getsockopt(fileno(), level, name, &value, &len) < 0)
    detail::throw_io_error(fileno() < 0 ? bad_fd() : detail::last_os_error(), "getsockopt");
  return value;
}

address socket::getsockname() const {
  address a;
  socklen_t len = a.capacity();
  if (sys::getsockname(fileno(), a.data(), &len) < 0)
    detail::throw_io_error(fileno() < 0 ? bad_fd() : detail::last_os_error(), "getsockname");
  a.resize(len);
  return a;
}

address socket::getpeername() const {
  address a;
  socklen_t len = a.capacity();
  if (sys::getpeername(fileno(), a.data(), &len) < 0)
    detail::throw_io_error(fileno() < 0 ? bad_fd() : detail::last_os_error(), "getpeername");
  a.resize(len);
  return a;
}

int socket::family() const { return state_ ? state_->family : AF_UNSPEC; }
int socket::type() const { return state_ ? state_->type : 0; }

SocketFile socket::makefile(std::size_t buffer_size) { return SocketFile(*this, buffer_size); }

socket create_connection(const address& peer, MaybeDuration timeout, const address* source) {
  socket s(peer.family(), SOCK_STREAM);  // with getdefaulttimeout()
  if (timeout) s.settimeout(timeout);
  if (source) s.bind(*source);
  s.connect(peer);
  return s;
}

socket listen_tcp(const address& local, int backlog, bool reuse_port) {
  socket s(local.family(), SOCK_STREAM);
  s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  if (reuse_port) s.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  s.bind(local);
  s.listen(backlog);
  return s;
}

}  // namespace gevent

namespace gevent {

socket create_connection(std::string_view host, std::uint16_t port, MaybeDuration timeout,
                         const address* source) {
  std::error_code last;
  for (const auto& info : getaddrinfo(host, std::to_string(port), AF_UNSPEC, SOCK_STREAM)) {
    try {
      return create_connection(info.address, timeout, source);
    } catch (const std::system_error& e) {
      last = e.code();
    }
  }
  detail::throw_io_error(last ? last : std::make_error_code(std::errc::host_unreachable),
                         "create_connection");
}

}  // namespace gevent
