// The peer for bench/echo.sh: an echo server written with Boost.Asio C++20 coroutines,
// one coroutine per connection on a single-threaded io_context, the way Asio's own
// coroutine echo example is written. Built by bench/echo.sh with Debian's Boost.
//
//   asio_echo PORT
#include <utility>  // Debian's Boost 1.74 asio/awaitable.hpp misses it under GCC 12

#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>

namespace asio = boost::asio;
using asio::ip::tcp;

static asio::awaitable<void> session(tcp::socket sock) {
  char buf[65536];
  try {
    for (;;) {
      const std::size_t n = co_await sock.async_read_some(asio::buffer(buf), asio::use_awaitable);
      co_await asio::async_write(sock, asio::buffer(buf, n), asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // end of stream or reset: the session ends
  }
}

static asio::awaitable<void> listener(tcp::acceptor acceptor) {
  for (;;) {
    tcp::socket sock = co_await acceptor.async_accept(asio::use_awaitable);
    sock.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), session(std::move(sock)), asio::detached);
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: asio_echo PORT\n");
    return 2;
  }
  asio::io_context io(1);
  tcp::acceptor acceptor(
      io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1]))});
  asio::co_spawn(io, listener(std::move(acceptor)), asio::detached);
  asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](auto, auto) { io.stop(); });
  io.run();
}
