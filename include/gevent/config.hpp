// gevent-cpp's configuration: gevent's environment variables, or code that sets them first.
//
//   GEVENT_LOOP         libev (default) | libuv      the hub's event-loop backend
//   GEVENT_STACK_SIZE   bytes, or with K/M suffix    default greenlet stack (128K; 512K under ASan)
//   GEVENT_STACK_GUARD  madvise | mprotect | canary  how stacks' guard pages are made (default:
//                                                    the best the kernel has; docs/stacks.md)
//   GEVENT_RESOLVER     thread (default)|ares|block  each hub's name resolver (resolver.hpp)
//   GEVENT_THREADPOOL_SIZE  a positive count         threads of each hub's pool (default 10)
//   GEVENT_RESOLVER_THREADS a positive count         most threads of each hub's blocking name
//                                                    lookups at once (default 64)
//   GEVENTARES_SERVERS  ip[:port],[ipv6]:port,...    DNS servers for ares (else resolv.conf's)
//   GEVENTARES_TIMEOUT  seconds, e.g. 0.5            ares: wait for one server's answer
//   GEVENTARES_TRIES    a positive count             ares: tries per server
//   GEVENT_MONITOR_THREAD_ENABLE  1|true|on|yes      start the monitor thread (monitor.hpp)
//   GEVENT_MAX_BLOCKING_TIME      seconds, e.g. 0.1  a hub that does not switch for longer
//                                                    is reported as blocked (default 0.1)
//   GEVENT_MAX_MEMORY_USAGE       bytes (K/M/G)      with the monitor: report when the
//                                                    process's RSS goes above, and back below
//   GEVENT_MONITOR_MEMORY_PERIOD  seconds            how often RSS is looked at (default 5)
//   GEVENT_DUMP_SIGNAL  SIGUSR2 | USR2 | 12          print run info (util.hpp) on stderr
//                                                    when the process gets it (default: off)
//
// config() reads the environment once, on first use; changes made through it apply to hubs
// (and greenlets) created afterwards. A malformed variable throws std::invalid_argument
// naming it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "gevent/detail/sanitizers.hpp"
#include "gevent/duration.hpp"

namespace gevent {

struct Config {
  std::string loop = "libev";
  // ASan's redzones make frames several times larger: its builds get bigger stacks.
  std::size_t stack_size = (GEVENT_ASAN ? 512 : 128) * 1024;
  // Read when a hub is created: empty, the best guard the kernel has; "mprotect" for a process
  // gdb's gcore must dump (it cannot read a slab with MADV_GUARD_INSTALL guards).
  std::string stack_guard;
  // Read when a hub makes its resolver (its first lookup); ares_* when it makes its channel.
  std::string resolver = "thread";
  // Read when a hub makes its thread pool (Hub::threadpool(), first use).
  std::size_t threadpool_size = 10;
  // The most threads a hub's blocking name lookups may use at once (the thread resolver, and
  // getaddrinfo/getnameinfo under gevent::monkey); started as lookups wait for them.
  std::size_t resolver_threads = 64;
  std::string ares_servers;    // empty: /etc/resolv.conf's
  MaybeDuration ares_timeout;  // unset: c-ares's (resolv.conf's "timeout:", else 5 s)
  int ares_tries = 0;          // 0: c-ares's (resolv.conf's "attempts:", else 4)
  // Read when a hub is created: with monitor_thread, the hub is watched by the monitor
  // thread (started with the first such hub), which reports when it has not switched for
  // longer than max_blocking_time.
  bool monitor_thread = false;
  Duration max_blocking_time = std::chrono::milliseconds(100);
  // With the monitor thread: the resident memory (bytes) above which it reports.
  std::optional<std::size_t> max_memory_usage;
  Duration memory_monitor_period = std::chrono::seconds(5);
  // Read when a hub is created: non-zero, the signal on which a thread of gevent's prints run
  // info (gevent/util.hpp) on stderr. Its handler replaces the program's for that signal.
  int dump_signal = 0;
};

Config& config();

}  // namespace gevent
