// What a hooked call costs: one send and one recv of a byte on a ready Unix socket pair,
// called three ways in alternating rounds, so that the machine's noise hits each alike:
//   original   libc's functions (gevent::monkey::get_original)
//   linked     ::send/::recv in a program that links the hooks, nothing patched
//   patched    the same after patch_all(), from the main greenlet
// Prints the median ns per send+recv pair of each, and the ratios to the original.
//
//   build/bin/bench_monkey [pairs per round, default 200000]
#include <sys/socket.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>

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
}
