#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "sys/libc.hpp"

namespace gevent::sys {
namespace detail {

Libc libc_table;
std::atomic<bool> libc_resolved{false};

namespace {
using NextDefinition = void* (*)(const char*);

// As in src/monkey/next_definition.cpp, the barrier keeps dlsym's caller in this library.
void* next_after_this_library(const char* name) {
  void* found = ::dlsym(RTLD_NEXT, name);
  asm volatile("" : "+r"(found));
  return found;
}

// RTLD_NEXT finds the definition after the object that calls dlsym: libc's (or a sanitizer's
// interceptor in front of it) even once the program defines the name itself. When the hooks
// are a shared library of their own, libgevent may come before them in the search order, and
// its RTLD_NEXT would find the hooks; the hooks' object then answers instead.
NextDefinition next_definition() {
  void* from_hooks = ::dlsym(RTLD_DEFAULT, "gevent_monkey_next_definition");
  return from_hooks != nullptr ? reinterpret_cast<NextDefinition>(from_hooks)
                               : &next_after_this_library;
}
}  // namespace

// Idempotent: a lazy lookup racing the constructor writes the same values.
void resolve_libc() {
  const NextDefinition next = next_definition();
  Libc table;
  bool complete = true;
#define GEVENT_SYS_RESOLVE(name)                                    \
  table.name = reinterpret_cast<decltype(table.name)>(next(#name)); \
  complete = complete && table.name != nullptr;
  GEVENT_SYS_CALLS(GEVENT_SYS_RESOLVE)
#undef GEVENT_SYS_RESOLVE
  if (!complete) {
    std::fputs("gevent: cannot find the libc functions of the sys layer (dlsym)\n", stderr);
    std::abort();
  }
  libc_table = table;
  libc_resolved.store(true, std::memory_order_release);
}

namespace {
// Early, so that other constructors (and, later, hooks called before main) find it ready.
[[gnu::constructor(101)]] void resolve_at_load() {
  if (!libc_resolved.load(std::memory_order_acquire)) resolve_libc();
}
}  // namespace

}  // namespace detail

void* original(std::string_view name) {
  const Libc& table = libc();
#define GEVENT_SYS_LOOKUP(function) \
  if (name == #function) return reinterpret_cast<void*>(table.function);
  GEVENT_SYS_CALLS(GEVENT_SYS_LOOKUP)
#undef GEVENT_SYS_LOOKUP
  return nullptr;
}

}  // namespace gevent::sys
