#include "monitor/source_lines.hpp"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include "monitor/dl_symbol.hpp"

namespace gevent::detail {
namespace {

struct Libdw {
  decltype(&dwfl_begin) begin = nullptr;
  decltype(&dwfl_end) end = nullptr;
  decltype(&dwfl_report_begin) report_begin = nullptr;
  decltype(&dwfl_linux_proc_report) proc_report = nullptr;
  decltype(&dwfl_report_end) report_end = nullptr;
  decltype(&dwfl_addrmodule) addrmodule = nullptr;
  decltype(&dwfl_module_getsrc) getsrc = nullptr;
  decltype(&dwfl_lineinfo) lineinfo = nullptr;
  Dwfl_Callbacks callbacks{};
  bool loaded = false;
};

// Lines come from the objects' own DWARF only. libdw's standard search would also ask
// debuginfod servers (DEBUGINFOD_URLS) for what is missing, over the network and with a
// libcurl it loads for that: not from a monitor's report.
int no_separate_debuginfo(Dwfl_Module*, void**, const char*, Dwarf_Addr, const char*, const char*,
                          GElf_Word, char**) {
  return -1;
}

const Libdw& libdw() {
  static const Libdw loaded = [] {
    Libdw lib;
    void* library = ::dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) return lib;
    bool ok = true;
    resolve(library, "dwfl_begin", lib.begin, ok);
    resolve(library, "dwfl_end", lib.end, ok);
    resolve(library, "dwfl_report_begin", lib.report_begin, ok);
    resolve(library, "dwfl_linux_proc_report", lib.proc_report, ok);
    resolve(library, "dwfl_report_end", lib.report_end, ok);
    resolve(library, "dwfl_addrmodule", lib.addrmodule, ok);
    resolve(library, "dwfl_module_getsrc", lib.getsrc, ok);
    resolve(library, "dwfl_lineinfo", lib.lineinfo, ok);
    resolve(library, "dwfl_linux_proc_find_elf", lib.callbacks.find_elf, ok);
    lib.callbacks.find_debuginfo = &no_separate_debuginfo;
    lib.loaded = ok;
    return lib;
  }();
  return loaded;
}

}  // namespace

struct SourceLines::Session {
  Dwfl* dwfl;
};

SourceLines::SourceLines() {
  const Libdw& lib = libdw();
  if (!lib.loaded) return;
  Dwfl* dwfl = lib.begin(&lib.callbacks);
  if (!dwfl) return;
  lib.report_begin(dwfl);
  const bool reported = lib.proc_report(dwfl, ::getpid()) == 0;
  if (lib.report_end(dwfl, nullptr, nullptr) != 0 || !reported) {
    lib.end(dwfl);
    return;
  }
  session_ = new Session{dwfl};
}

SourceLines::~SourceLines() {
  if (!session_) return;
  libdw().end(session_->dwfl);
  delete session_;
}

std::string SourceLines::at(std::uint64_t address) {
  if (!session_) return {};
  const Libdw& lib = libdw();
  Dwfl_Module* module = lib.addrmodule(session_->dwfl, address);
  Dwfl_Line* line = module ? lib.getsrc(module, address) : nullptr;
  if (!line) return {};
  int number = 0;
  const char* file = lib.lineinfo(line, nullptr, &number, nullptr, nullptr, nullptr);
  if (!file || number <= 0) return {};
  return std::string(file) + ":" + std::to_string(number);
}

}  // namespace gevent::detail
