// The program tools/gdb/gevent.py is tried on (check_gdb.sh): greenlet 1 "reader" blocked in
// recv on a loopback socket, greenlet 2 "sleeper" in a sleep; then the main greenlet stops
// the process with SIGTRAP for gdb to look at it.
#include <csignal>

#include "gevent/gevent.hpp"

using namespace std::chrono_literals;

[[gnu::noinline]] std::size_t wait_for_a_byte(gevent::socket& sock) {
  char byte;
  const std::size_t n = sock.recv({&byte, 1});
  asm volatile("" ::: "memory");  // no tail call: this frame stays on the stack
  return n;
}

int main() {
  auto server = gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0));
  auto client = gevent::create_connection(server.getsockname(), 5s);
  auto [conn, peer] = server.accept();
  auto reader = gevent::spawn([&conn] { return wait_for_a_byte(conn); });
  reader.set_name("reader");
  auto sleeper = gevent::spawn([] { gevent::sleep(60s); });
  sleeper.set_name("sleeper");
  gevent::sleep(10ms);
  std::raise(SIGTRAP);  // gdb stops here; it kills the process when done
  return 1;
}
