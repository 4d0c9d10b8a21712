#include "monitor/thread_backtrace.hpp"

#include "monitor/dl_symbol.hpp"
#include "monitor/source_lines.hpp"

#include <dlfcn.h>
#include <libunwind-ptrace.h>
#include <libunwind.h>
#include <link.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include <cxxabi.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "gevent/hub.hpp"
#include "gevent/monitor.hpp"
#include "sys/libc.hpp"

namespace gevent::detail {
namespace {

// --- libunwind, loaded on first use. Linked in, libunwind.so.8 (a dependency of both) could
// come before libgcc_s in the search order and its _Unwind_* functions take over the C++
// exceptions of the whole program; loaded later, it comes after. libunwind-ptrace does not
// name the libraries it needs (Debian's build): libunwind-x86_64 and its liblzma go first,
// into the global scope.

struct Libunwind {
  decltype(&_UPT_create) upt_create = nullptr;
  decltype(&_UPT_destroy) upt_destroy = nullptr;
  decltype(&_UPT_find_proc_info) find_proc_info = nullptr;
  decltype(&_UPT_put_unwind_info) put_unwind_info = nullptr;
  decltype(&_UPT_get_dyn_info_list_addr) get_dyn_info_list_addr = nullptr;
  decltype(&_UPT_get_proc_name) get_proc_name = nullptr;
  decltype(&unw_create_addr_space) create_addr_space = nullptr;
  decltype(&unw_destroy_addr_space) destroy_addr_space = nullptr;
  decltype(&unw_init_remote) init_remote = nullptr;
  decltype(&unw_step) step = nullptr;
  decltype(&unw_get_reg) get_reg = nullptr;
  // Not in libunwind's headers; the signature of its dwarf/Gfind_proc_info-lsb.c.
  int (*search_unwind_table)(unw_addr_space_t, unw_word_t, unw_dyn_info_t*, unw_proc_info_t*, int,
                             void*) = nullptr;
  bool loaded = false;
};

const Libunwind& libunwind() {
  static const Libunwind loaded = [] {
    Libunwind lib;
    void* generic = ::dlopen("libunwind-x86_64.so.8", RTLD_NOW | RTLD_GLOBAL);
    void* ptrace = generic ? ::dlopen("libunwind-ptrace.so.0", RTLD_NOW | RTLD_LOCAL) : nullptr;
    if (!ptrace || !generic) return lib;
    bool ok = true;
    resolve(ptrace, "_UPT_create", lib.upt_create, ok);
    resolve(ptrace, "_UPT_destroy", lib.upt_destroy, ok);
    resolve(ptrace, "_UPT_find_proc_info", lib.find_proc_info, ok);
    resolve(ptrace, "_UPT_put_unwind_info", lib.put_unwind_info, ok);
    resolve(ptrace, "_UPT_get_dyn_info_list_addr", lib.get_dyn_info_list_addr, ok);
    resolve(ptrace, "_UPT_get_proc_name", lib.get_proc_name, ok);
    resolve(generic, "_Ux86_64_create_addr_space", lib.create_addr_space, ok);
    resolve(generic, "_Ux86_64_destroy_addr_space", lib.destroy_addr_space, ok);
    resolve(generic, "_Ux86_64_init_remote", lib.init_remote, ok);
    resolve(generic, "_Ux86_64_step", lib.step, ok);
    resolve(generic, "_Ux86_64_get_reg", lib.get_reg, ok);
    resolve(generic, "_Ux86_64_dwarf_search_unwind_table", lib.search_unwind_table, ok);
    lib.loaded = ok;
    return lib;
  }();
  return loaded;
}

// The walk's view of the thread: its registers, a copy of its stack top, and the process's
// memory (read with process_vm_readv, which fails instead of faulting on a bad address).
struct Walk {
  const Registers& registers;
  const ThreadSample* sample;
  void* upt;
};

int access_mem(unw_addr_space_t, unw_word_t address, unw_word_t* value, int write, void* arg) {
  if (write) return -UNW_EINVAL;
  const auto& walk = *static_cast<Walk*>(arg);
  if (const ThreadSample* sample = walk.sample) {
    const std::uint64_t start = sample->registers.sp;
    if (address >= start && address + sizeof *value <= start + sample->stack_bytes) {
      std::memcpy(value, sample->stack + (address - start), sizeof *value);
      return 0;
    }
  }
  iovec local{value, sizeof *value};
  iovec remote{reinterpret_cast<void*>(address), sizeof *value};
  const auto n = ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0);
  return n == static_cast<ssize_t>(sizeof *value) ? 0 : -UNW_EINVAL;
}

int access_reg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* value, int write, void* arg) {
  if (write) return -UNW_EINVAL;
  const Registers& r = static_cast<Walk*>(arg)->registers;
  std::uint64_t known = 0;
  switch (reg) {
    case UNW_X86_64_RIP:
      known = r.ip;
      break;
    case UNW_X86_64_RSP:
      known = r.sp;
      break;
    case UNW_X86_64_RBP:
      known = r.bp;
      break;
    case UNW_X86_64_RBX:
      known = r.bx;
      break;
    case UNW_X86_64_R12:
      known = r.r12;
      break;
    case UNW_X86_64_R13:
      known = r.r13;
      break;
    case UNW_X86_64_R14:
      known = r.r14;
      break;
    case UNW_X86_64_R15:
      known = r.r15;
      break;
    default:
      break;
  }
  if (known == 0) return -UNW_EBADREG;
  *value = known;
  return 0;
}

int access_fpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) { return -UNW_EBADREG; }

int resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }

// The unwind table of the loaded object whose code holds `ip`, from its PT_GNU_EH_FRAME as
// the loader mapped it: this finds the vDSO too, which has no file for libunwind-ptrace.
struct TableLookup {
  std::uint64_t ip;
  unw_dyn_info_t table{};
  bool found = false;
};

int find_in_object(dl_phdr_info* object, std::size_t, void* data) {
  auto& lookup = *static_cast<TableLookup*>(data);
  const ElfW(Phdr)* text = nullptr;
  const ElfW(Phdr)* eh_frame_hdr = nullptr;
  for (int i = 0; i < object->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = object->dlpi_phdr[i];
    const std::uint64_t start = object->dlpi_addr + segment.p_vaddr;
    if (segment.p_type == PT_LOAD && lookup.ip >= start && lookup.ip < start + segment.p_memsz)
      text = &segment;
    if (segment.p_type == PT_GNU_EH_FRAME) eh_frame_hdr = &segment;
  }
  if (!text || !eh_frame_hdr) return 0;
  // version 1; eh_frame_ptr as 4 bytes; fde_count as udata4; the table as datarel sdata4 pairs
  // (what GNU ld and the kernel's vDSO write).
  const auto* header =
      reinterpret_cast<const unsigned char*>(object->dlpi_addr + eh_frame_hdr->p_vaddr);
  constexpr unsigned char kUdata4 = 0x03, kSdata4 = 0x0b, kDatarelSdata4 = 0x3b;
  const unsigned char pointer_format = header[1] & 0x0f;
  const bool readable = header[0] == 1 &&
                        (pointer_format == kUdata4 || pointer_format == kSdata4) &&
                        header[2] == kUdata4 && header[3] == kDatarelSdata4;
  if (!readable) return 1;  // the object is found, its table is not one read here
  std::uint32_t fde_count;
  std::memcpy(&fde_count, header + 8, sizeof fde_count);
  unw_dyn_info_t& table = lookup.table;
  table.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  table.start_ip = object->dlpi_addr + text->p_vaddr;
  table.end_ip = table.start_ip + text->p_memsz;
  table.u.rti.segbase = reinterpret_cast<unw_word_t>(header);
  table.u.rti.table_data = reinterpret_cast<unw_word_t>(header + 12);
  table.u.rti.table_len = fde_count * 8 / sizeof(unw_word_t);
  lookup.found = true;
  return 1;
}

int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* info, int need, void* arg) {
  const Libunwind& lib = libunwind();
  TableLookup lookup{ip};
  ::dl_iterate_phdr(&find_in_object, &lookup);
  if (lookup.found && lib.search_unwind_table(as, ip, &lookup.table, info, need, arg) == 0)
    return 0;
  return lib.find_proc_info(as, ip, info, need, static_cast<Walk*>(arg)->upt);
}

void put_unwind_info(unw_addr_space_t as, unw_proc_info_t* info, void* arg) {
  libunwind().put_unwind_info(as, info, static_cast<Walk*>(arg)->upt);
}

int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t* address, void* arg) {
  return libunwind().get_dyn_info_list_addr(as, address, static_cast<Walk*>(arg)->upt);
}

int get_proc_name(unw_addr_space_t as, unw_word_t ip, char* buf, std::size_t size,
                  unw_word_t* offset, void* arg) {
  return libunwind().get_proc_name(as, ip, buf, size, offset, static_cast<Walk*>(arg)->upt);
}

std::string frame_line(int index, std::uint64_t ip, unw_addr_space_t as, Walk& walk,
                       SourceLines* lines) {
  char name[512] = "??";
  unw_word_t offset = 0;
  // A return address points after its call: the call itself is one byte before.
  const std::uint64_t call_site = index == 0 ? ip : ip - 1;
  if (get_proc_name(as, call_site, name, sizeof name, &offset, &walk) != 0)
    std::strcpy(name, "??");
  else
    offset += ip - call_site;
  int status = -1;
  std::unique_ptr<char, decltype(&std::free)> readable(
      abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
  const char* function = status == 0 && readable ? readable.get() : name;
  Dl_info where{};
  const char* object = ::dladdr(reinterpret_cast<void*>(call_site), &where) && where.dli_fname
                           ? where.dli_fname
                           : "?";
  if (const char* slash = std::strrchr(object, '/')) object = slash + 1;
  char address[64];
  std::snprintf(address, sizeof address, "#%d 0x%016llx ", index,
                static_cast<unsigned long long>(ip));
  std::string text =
      address + std::string(function) + "+" + std::to_string(offset) + " (" + object + ")";
  if (lines)
    if (std::string source = lines->at(call_site); !source.empty()) text += " at " + source;
  return text + "\n";
}

// --- the sampling signal ---

std::atomic<pid_t> sample_tid{0};  // the thread asked, 0: none
ThreadSample* sample_into = nullptr;
std::atomic<bool> sample_done{false};

std::size_t copy_own_memory(void* into, std::uint64_t from, std::size_t size) {
  iovec local{into, size};
  iovec remote{reinterpret_cast<void*>(from), size};
  // A stack is mapped up to its top only: read what can be, down to a page at a time.
  for (std::size_t want = size; want >= 4096; want /= 2) {
    local.iov_len = remote.iov_len = want;
    const auto n = ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  return 0;
}

void on_sample_signal(int, siginfo_t*, void* context) {
  const int saved_errno = errno;
  if (sample_tid.load(std::memory_order_acquire) == static_cast<pid_t>(::syscall(SYS_gettid))) {
    const auto& regs = static_cast<ucontext_t*>(context)->uc_mcontext.gregs;
    ThreadSample& sample = *sample_into;
    const auto reg = [&](int index) { return static_cast<std::uint64_t>(regs[index]); };
    sample.registers = {reg(REG_RIP), reg(REG_RSP), reg(REG_RBP), reg(REG_RBX),
                        reg(REG_R12), reg(REG_R13), reg(REG_R14), reg(REG_R15)};
    sample.stack_bytes =
        copy_own_memory(sample.stack, sample.registers.sp, ThreadSample::kStackBytes);
    sample.greenlet_name[0] = '\0';
    if (Hub* hub = Hub::current_if_exists())
      if (const char* name = hub->current_greenlet().custom_name())
        std::strncpy(sample.greenlet_name, name, sizeof sample.greenlet_name - 1);
    sample_done.store(true, std::memory_order_release);
  }
  errno = saved_errno;
}

void pause_a_millisecond() {
  const timespec millisecond{0, 1'000'000};
  sys::nanosleep(&millisecond, nullptr);
}

}  // namespace

std::optional<InSyscall> read_syscall(pid_t tid) {
  std::ifstream file("/proc/self/task/" + std::to_string(tid) + "/syscall");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  std::istringstream fields(line);
  InSyscall in;
  if (!(fields >> in.number) || in.number < 0) return std::nullopt;  // "running", or "-1 sp pc"
  std::string argument;
  for (int i = 0; i < 6; ++i) fields >> argument;
  std::string sp, pc;
  if (!(fields >> sp >> pc)) return std::nullopt;
  in.registers.sp = std::stoull(sp, nullptr, 16);
  in.registers.ip = std::stoull(pc, nullptr, 16);
  return in;
}

void install_sample_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = &on_sample_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    sys::sigaction(monitor::sample_signal(), &action, nullptr);
  });
}

bool sample_thread(pthread_t thread, pid_t tid, ThreadSample& into, int patience_ms) {
  sample_into = &into;
  sample_done.store(false, std::memory_order_relaxed);
  sample_tid.store(tid, std::memory_order_release);
  bool answered = false;
  if (::pthread_kill(thread, monitor::sample_signal()) == 0) {
    for (int waited = 0; waited < patience_ms && !answered; ++waited) {
      answered = sample_done.load(std::memory_order_acquire);
      if (!answered) pause_a_millisecond();
    }
  }
  sample_tid.store(0, std::memory_order_release);
  // A late handler may still be writing: it checked sample_tid before we cleared it.
  if (!answered) pause_a_millisecond();
  return answered || sample_done.load(std::memory_order_acquire);
}

void prepare_unwinder() {
  std::uint64_t here = 0;
  Registers registers;
  registers.ip = reinterpret_cast<std::uint64_t>(&prepare_unwinder);
  registers.sp = reinterpret_cast<std::uint64_t>(&here);
  unwind(registers, nullptr, 1);
}

std::string unwind(const Registers& registers, const ThreadSample* sample, int max_frames,
                   SourceLines* lines) {
  const Libunwind& lib = libunwind();
  if (!lib.loaded || registers.ip == 0 || registers.sp == 0) return {};
  unw_accessors_t accessors{};
  accessors.find_proc_info = &find_proc_info;
  accessors.put_unwind_info = &put_unwind_info;
  accessors.get_dyn_info_list_addr = &get_dyn_info_list_addr;
  accessors.access_mem = &access_mem;
  accessors.access_reg = &access_reg;
  accessors.access_fpreg = &access_fpreg;
  accessors.resume = &resume;
  accessors.get_proc_name = &get_proc_name;
  unw_addr_space_t as = lib.create_addr_space(&accessors, 0);
  if (!as) return {};
  Walk walk{registers, sample, lib.upt_create(::getpid())};
  std::string frames;
  unw_cursor_t cursor;
  if (walk.upt && lib.init_remote(&cursor, as, &walk) == 0) {
    for (int i = 0; i < max_frames; ++i) {
      unw_word_t ip = 0;
      if (lib.get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0) break;
      frames += frame_line(i, ip, as, walk, lines);
      if (lib.step(&cursor) <= 0) break;
    }
  }
  if (walk.upt) lib.upt_destroy(walk.upt);
  lib.destroy_addr_space(as);
  return frames;
}

}  // namespace gevent::detail
