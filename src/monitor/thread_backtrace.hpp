// Backtraces of another thread of this process, taken without disturbing what it does
// (include/gevent/monitor.hpp says how).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace gevent::detail {

// The registers a frame walk starts from; 0 where unknown (only ip and sp are needed).
struct Registers {
  std::uint64_t ip = 0, sp = 0, bp = 0, bx = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
};

// What a thread running user code copies in its sampling signal's handler.
struct ThreadSample {
  static constexpr std::size_t kStackBytes = 32 * 1024;
  Registers registers;
  std::size_t stack_bytes = 0;  // of stack[], copied from registers.sp up
  char greenlet_name[64] = {};  // the running greenlet's custom name, if it has one
  unsigned char stack[kStackBytes];
};

// A thread blocked in a system call, as /proc/self/task/TID/syscall shows it.
struct InSyscall {
  long number = 0;
  Registers registers;  // ip and sp only
};
// nullopt when the thread is running (or the file cannot be read).
std::optional<InSyscall> read_syscall(pid_t tid);

// Installs the handler of monitor::sample_signal() (once).
void install_sample_handler();
// Samples thread `tid` with the signal; false if it did not answer within `patience`.
bool sample_thread(pthread_t thread, pid_t tid, ThreadSample& into, int patience_ms);

// Loads libunwind and lets it make what it keeps for the life of the process (a pipe it checks
// addresses with), so that the first report does not open descriptors.
void prepare_unwinder();

class SourceLines;

// "#0 0x7f... name+off (object) at file.cpp:42\n..." from the registers, reading memory from
// `sample` where it holds a copy and from the live process elsewhere; file:line where `lines`
// finds them. Empty when libunwind cannot be loaded.
std::string unwind(const Registers& registers, const ThreadSample* sample, int max_frames = 32,
                   SourceLines* lines = nullptr);

}  // namespace gevent::detail
