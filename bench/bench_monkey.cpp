// What a hooked call costs: one send and one recv of a byte on a ready Unix socket pair,
// called three ways in alternating rounds, so that the machine's noise hits each alike:
//   original   libc's functions (gevent::monkey::get_original)
//   linked     ::send/::recv in a program that links the hooks, nothing patched
//   patched    the same after patch_all(), from the main greenlet
// Prints the median ns per send+recv pair of each, and the ratios to the original.
//
// Then what a hooked call costs when it must wait: a byte bounced between two greenlets on a
// socket pair, so that every recv waits for the other greenlet, with ::send/::recv under
// patch_all() against gevent::socket's own send/recv, in alternating rounds.
//
//   build/bin/bench_monkey [pairs per round, default 200000]
#include <sys/socket.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>
#include <gevent/socket.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "monkey/state.hpp"

namespace {

using Send = ssize_t(int, const void*, size_t, int);
using Recv = ssize_t(int, void*, size_t, int);

template <class SendFn, class RecvFn>
double ns_per_pair(int a, int b, long pairs, SendFn send_fn, RecvFn recv_fn) {
  char byte = 'x';
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < pairs; ++i) {
    if (send_fn(a, &byte, 1, 0) != 1 || recv_fn(b, &byte, 1, 0) != 1) std::abort();
  }
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  return took.count() / static_cast<double>(pairs);
}

// One round trip: the main greenlet sends a byte and waits for it to come back from `echo`.
template <class Endpoint>
double ns_per_round_trip(Endpoint& near, Endpoint& far, long trips) {
  auto echo = gevent::spawn([&] {
    for (long i = 0; i < trips; ++i) far.bounce();
  });
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < trips; ++i) near.ping();
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  echo.join();
  return took.count() / static_cast<double>(trips);
}

struct HookedEndpoint {
  int fd;
  char byte = 'x';
  void ping() {
    if (::send(fd, &byte, 1, 0) != 1 || ::recv(fd, &byte, 1, 0) != 1) std::abort();
  }
  void bounce() {
    if (::recv(fd, &byte, 1, 0) != 1 || ::send(fd, &byte, 1, 0) != 1) std::abort();
  }
};

struct NativeEndpoint {
  gevent::socket socket;
  char byte = 'x';
  void ping() {
    socket.sendall({&byte, 1});
    if (socket.recv({&byte, 1}) != 1) std::abort();
  }
  void bounce() {
    if (socket.recv({&byte, 1}) != 1) std::abort();
    socket.sendall({&byte, 1});
  }
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const long pairs = argc > 1 ? std::atol(argv[1]) : 200000;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 1;
  auto* original_send = gevent::monkey::get_original<Send>("send");
  auto* original_recv = gevent::monkey::get_original<Recv>("recv");
  constexpr int kRounds = 9;
  std::vector<double> original, linked, patched;
  for (int round = 0; round < kRounds; ++round) {
    original.push_back(ns_per_pair(fds[0], fds[1], pairs, original_send, original_recv));
    gevent::monkey::detail::unpatch(~0u);
    linked.push_back(ns_per_pair(fds[0], fds[1], pairs, ::send, ::recv));
    gevent::monkey::patch_all();
    patched.push_back(ns_per_pair(fds[0], fds[1], pairs, ::send, ::recv));
  }
  const double base = median(original);
  std::printf("send+recv of 1 byte on a ready socket pair, median of %d rounds of %ld:\n", kRounds,
              pairs);
  std::printf("  original  %7.1f ns\n", base);
  std::printf("  linked    %7.1f ns  %.3fx the original (target <= 1.02x)\n", median(linked),
              median(linked) / base);
  std::printf("  patched   %7.1f ns  %.3fx the original (target <= 1.10x)\n", median(patched),
              median(patched) / base);

  const long trips = pairs / 4;
  int hooked_fds[2], native_fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, hooked_fds) != 0 ||
      ::socketpair(AF_UNIX, SOCK_STREAM, 0, native_fds) != 0)
    return 1;
  HookedEndpoint hooked_near{hooked_fds[0]}, hooked_far{hooked_fds[1]};
  NativeEndpoint native_near{gevent::socket::from_fd(native_fds[0])};
  NativeEndpoint native_far{gevent::socket::from_fd(native_fds[1])};
  std::vector<double> hooked_trips, native_trips;
  for (int round = 0; round < kRounds; ++round) {
    hooked_trips.push_back(ns_per_round_trip(hooked_near, hooked_far, trips));
    native_trips.push_back(ns_per_round_trip(native_near, native_far, trips));
  }
  const double native = median(native_trips);
  std::printf(
      "a byte bounced between two greenlets (every recv waits), median of %d rounds of %ld:\n",
      kRounds, trips);
  std::printf("  gevent::socket  %7.1f ns per round trip\n", native);
  std::printf("  hooked calls    %7.1f ns per round trip  %.2fx gevent::socket\n",
              median(hooked_trips), median(hooked_trips) / native);
}
