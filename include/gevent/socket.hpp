// gevent::socket: a cooperative socket (gevent.socket.socket). Every call that would block
// suspends only the calling greenlet, and honours both the socket's timeout and any
// enclosing gevent::Timeout.
//
//   gevent::socket sock = gevent::create_connection("127.0.0.1", 8000, 5s);
//   sock.sendall("ping");
//   char buf[4096];
//   size_t n = sock.recv(buf);          // 0 at end of stream
//
// Errors come in two forms, as in Asio: the plain call throws std::system_error, the
// overload taking std::error_code& sets it instead and returns 0 (or an empty value).
// A timed-out call reports std::errc::timed_out; with timeout 0 (non-blocking) a call that
// would block reports std::errc::operation_would_block. A socket closed by another greenlet
// wakes its waiters with io_errc::closed_in_another_greenlet (== errc::bad_file_descriptor).
//
// Through TLS (gevent::ssl::SSLSocket), recv/send flags and recvfrom/sendto report
// errc::operation_not_supported rather than bypass the TLS stream.
//
// One greenlet may read and another write the same socket at once; two greenlets reading
// (or two writing) at once throw gevent::ConcurrentObjectUseError, as in gevent.
// The fd is always O_NONBLOCK underneath; "blocking" is a matter of the timeout.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

#include "gevent/address.hpp"
#include "gevent/duration.hpp"
#include "gevent/io_error.hpp"

namespace gevent {

namespace detail {
struct SocketState;
struct SocketAccess;
}  // namespace detail

class SocketFile;

// The timeout new sockets start with (socket.setdefaulttimeout); none (the default) = block.
void setdefaulttimeout(MaybeDuration timeout);
MaybeDuration getdefaulttimeout();

class socket {
 public:
  // No socket: fileno() is -1; I/O reports errc::bad_file_descriptor.
  socket() noexcept;
  // A new socket, e.g. socket(AF_INET, SOCK_STREAM). Failure throws std::system_error.
  socket(int family, int type, int protocol = 0);
  // Takes ownership of an open socket fd and makes it non-blocking underneath.
  static socket from_fd(int fd);

  socket(socket&& other) noexcept;
  socket& operator=(socket&& other) noexcept;
  ~socket();  // closes

  void bind(const address& local);
  void bind(const address& local, std::error_code& ec);
  void listen(int backlog = SOMAXCONN);
  void listen(int backlog, std::error_code& ec);
  // A new connection and its peer's address. The new socket has getdefaulttimeout(), not
  // this socket's timeout (as in Python and gevent: a listener's timeout is for accept).
  std::pair<socket, address> accept();
  std::pair<socket, address> accept(std::error_code& ec);
  void connect(const address& peer);
  void connect(const address& peer, std::error_code& ec);
  // connect() returning 0 or an errno value instead of throwing (socket.connect_ex).
  int connect_ex(const address& peer);

  // Receives at most buf.size() bytes; 0 means the peer shut down its side.
  std::size_t recv(std::span<char> buf, int flags = 0);
  std::size_t recv(std::span<char> buf, int flags, std::error_code& ec);
  std::size_t recv(std::span<char> buf, std::error_code& ec) { return recv(buf, 0, ec); }
  // Python's recv_into: the same thing in C++.
  std::size_t recv_into(std::span<char> buf, int flags = 0) { return recv(buf, flags); }
  std::pair<std::size_t, address> recvfrom(std::span<char> buf, int flags = 0);
  std::pair<std::size_t, address> recvfrom(std::span<char> buf, int flags, std::error_code& ec);

  // Sends what it can (at least one byte unless data is empty); returns the count.
  std::size_t send(std::string_view data, int flags = 0);
  std::size_t send(std::string_view data, int flags, std::error_code& ec);
  // Sends all of data. The socket's timeout bounds the whole call. On error, `sent` (if
  // given) says how much went out.
  void sendall(std::string_view data, int flags = 0);
  void sendall(std::string_view data, int flags, std::error_code& ec, std::size_t* sent = nullptr);
  void sendall(std::string_view data, std::error_code& ec) { sendall(data, 0, ec); }
  std::size_t sendto(std::string_view data, const address& peer, int flags = 0);
  std::size_t sendto(std::string_view data, const address& peer, int flags, std::error_code& ec);
  // Sends `count` bytes (to end of file if empty) of file descriptor `file_fd` from `offset`
  // with sendfile(2) (read+send through TLS); returns the bytes sent.
  std::size_t sendfile(int file_fd, off_t offset = 0, std::optional<std::size_t> count = {});
  std::size_t sendfile(int file_fd, off_t offset, std::optional<std::size_t> count,
                       std::error_code& ec);

  void shutdown(int how);  // SHUT_RD, SHUT_WR, SHUT_RDWR
  void shutdown(int how, std::error_code& ec);
  // Closes the fd; greenlets waiting on this socket wake with closed_in_another_greenlet.
  // Idempotent.
  void close();
  int fileno() const;
  // Gives up the fd without closing it (it stays non-blocking); the socket becomes empty.
  int detach();
  bool is_open() const { return fileno() >= 0; }

  // None: block; zero: non-blocking; otherwise the limit for each call (gevent semantics).
  void settimeout(MaybeDuration timeout);
  MaybeDuration gettimeout() const;
  // setblocking(true) = settimeout(none), setblocking(false) = settimeout(0).
  void setblocking(bool blocking);

  void setsockopt(int level, int name, int value);
  void setsockopt(int level, int name, const void* value, socklen_t size);
  int getsockopt(int level, int name) const;
  address getsockname() const;
  address getpeername() const;
  int family() const;
  int type() const;

  // A buffered reader and writer over this socket (socket.makefile); see socket_file.hpp.
  // The socket must outlive it.
  SocketFile makefile(std::size_t buffer_size = 8192);

 protected:
  explicit socket(std::unique_ptr<detail::SocketState> state) noexcept;

 private:
  friend struct detail::SocketAccess;  // the io layer's way in (src/io/socket_state.hpp)
  std::unique_ptr<detail::SocketState> state_;
};

// Connects to host:port, trying each address getaddrinfo returns in turn
// (socket.create_connection). `timeout`, when given, bounds each attempt and becomes the
// socket's timeout; when not, the socket has getdefaulttimeout() (Python's default argument,
// _GLOBAL_DEFAULT_TIMEOUT). `source` binds the local end first.
socket create_connection(std::string_view host, std::uint16_t port, MaybeDuration timeout = {},
                         const address* source = nullptr);
socket create_connection(const address& peer, MaybeDuration timeout = {},
                         const address* source = nullptr);

// A listening TCP socket bound to `local` with SO_REUSEADDR (and SO_REUSEPORT if asked).
socket listen_tcp(const address& local, int backlog = SOMAXCONN, bool reuse_port = false);

// Waits until a raw fd is readable / writable (gevent.socket.wait_read/wait_write). Throws
// std::system_error with errc::timed_out after `timeout`, or io_errc::wait_cancelled when
// cancel_wait(fd) is called meanwhile.
void wait_read(int fd, MaybeDuration timeout = {});
void wait_write(int fd, MaybeDuration timeout = {});
void wait_readwrite(int fd, MaybeDuration timeout = {});
// Wakes every greenlet of this thread waiting in wait_read/wait_write on fd, with
// io_errc::wait_cancelled (or `reason`). Returns how many were woken. Waits made through a
// gevent::socket are woken by its close() instead.
int cancel_wait(int fd, std::error_code reason = io_errc::wait_cancelled);

}  // namespace gevent
