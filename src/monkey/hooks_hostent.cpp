// patch_dns(), the older calls: gethostbyname, gethostbyname2, gethostbyaddr and their _r
// forms. Each runs glibc's own _r call on the hub's resolver pool, into a buffer of the job's
// own (a greenlet that stops waiting must not have the pool thread write into its memory
// later), then moves the entry into the caller's buffer, or, for the forms without _r, into
// this thread's static one, as glibc keeps a static one.
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "monkey/dns_pool.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

using gevent::Hub;
using namespace gevent::monkey::detail;
namespace sys = gevent::sys;

namespace {

// One _r lookup: the call, with the entry, the buffer and the h_errno it fills.
using Call = std::function<int(hostent*, char*, size_t, hostent**, int*)>;

// The job's buffer sits at the same offset from 16-byte alignment as the caller's, so that
// glibc lays the entry out in it exactly as it would in the caller's (it aligns its arrays).
constexpr std::uintptr_t kAlign = alignof(std::max_align_t);

struct HostEntLookup {
  Call call;
  std::vector<char> storage;
  char* buffer;
  size_t size;
  hostent entry{};
  hostent* found = nullptr;
  int result = 0;
  int h_error = 0;
  int error = 0;

  HostEntLookup(Call c, size_t buffer_size, std::uintptr_t caller_buffer)
      : call(std::move(c)), storage(buffer_size + kAlign), size(buffer_size) {
    const auto start = reinterpret_cast<std::uintptr_t>(storage.data());
    buffer = storage.data() + (caller_buffer - start) % kAlign;
  }
  void run() {
    result = call(&entry, buffer, size, &found, &h_error);
    error = errno;
  }
};

// Points `p`, which may point into the lookup's buffer, at the same place in `to`.
template <class T>
T* moved(T* p, const HostEntLookup& from, char* to) {
  const auto* at = reinterpret_cast<const char*>(p);
  if (!p || at < from.buffer || at >= from.buffer + from.size) return p;
  return reinterpret_cast<T*>(to + (at - from.buffer));
}

// Copies the lookup's entry and buffer into `entry` and `buffer`: the buffer whole, then
// every pointer into it (the name, the two arrays and what they point at) moved along.
void move_entry(const HostEntLookup& lookup, hostent* entry, char* buffer) {
  memcpy(buffer, lookup.buffer, lookup.size);
  *entry = lookup.entry;
  entry->h_name = moved(entry->h_name, lookup, buffer);
  entry->h_aliases = moved(entry->h_aliases, lookup, buffer);
  entry->h_addr_list = moved(entry->h_addr_list, lookup, buffer);
  for (char** list : {entry->h_aliases, entry->h_addr_list})
    for (; list && *list; ++list) *list = moved(*list, lookup, buffer);
}

// Runs the lookup on the pool into a buffer of `size` placed as `caller_buffer` is; null, with
// errno set, when the greenlet was interrupted or the pool failed.
std::shared_ptr<HostEntLookup> run_lookup(Hub& hub, Call call, size_t size,
                                          const char* caller_buffer) {
  auto lookup = std::make_shared<HostEntLookup>(std::move(call), size,
                                                reinterpret_cast<std::uintptr_t>(caller_buffer));
  if (!run_on_pool(hub, lookup)) return nullptr;
  return lookup;
}

// A _r call, cooperative: the original's return value, entry, h_errno and errno.
int lookup_r(Hub& hub, Call call, hostent* entry, char* buffer, size_t size, hostent** found,
             int* h_error) {
  *found = nullptr;
  const auto lookup = run_lookup(hub, std::move(call), size, buffer);
  if (!lookup) {
    *h_error = NETDB_INTERNAL;
    return errno;
  }
  if (lookup->found) {
    move_entry(*lookup, entry, buffer);
    *found = entry;
  }
  *h_error = lookup->h_error;
  errno = lookup->error;
  return lookup->result;
}

// A call without _r: into this thread's static entry, valid until the next such call on this
// thread, as glibc's. The job's buffer grows on ERANGE as glibc grows its own; the static
// buffer is only touched once the lookup is over, with no switch until the entry is in it.
hostent* lookup_static(Hub& hub, const Call& call) {
  thread_local hostent entry;
  thread_local std::vector<char> buffer;
  for (size_t size = 1024;; size *= 2) {
    const auto lookup = run_lookup(hub, call, size, nullptr);
    if (!lookup) {
      h_errno = NETDB_INTERNAL;
      return nullptr;
    }
    if (lookup->result == ERANGE && lookup->h_error == NETDB_INTERNAL && size < (64u << 20))
      continue;
    errno = lookup->error;
    if (!lookup->found) {
      h_errno = lookup->h_error;
      return nullptr;
    }
    if (buffer.size() < size) buffer.resize(size);
    move_entry(*lookup, &entry, buffer.data());
    return &entry;
  }
}

Call by_name(const char* name) {
  return [name = std::string(name)](hostent* e, char* b, size_t n, hostent** f, int* h) {
    return sys::gethostbyname_r(name.c_str(), e, b, n, f, h);
  };
}

Call by_name(const char* name, int family) {
  return [name = std::string(name), family](hostent* e, char* b, size_t n, hostent** f, int* h) {
    return sys::gethostbyname2_r(name.c_str(), family, e, b, n, f, h);
  };
}

Call by_addr(const void* address, socklen_t length, int type) {
  const auto* bytes = static_cast<const char*>(address);
  return [address = std::string(bytes, length), type](hostent* e, char* b, size_t n, hostent** f,
                                                      int* h) {
    return sys::gethostbyaddr_r(address.data(), static_cast<socklen_t>(address.size()), type, e, b,
                                n, f, h);
  };
}

}  // namespace

namespace gevent::monkey::detail {
void link_hostent_hooks() {}
}  // namespace gevent::monkey::detail

extern "C" {

hostent* gethostbyname(const char* name) {
  Hub* hub = resolving_hub();
  if (!hub || !name) return sys::gethostbyname(name);
  return lookup_static(*hub, by_name(name));
}

hostent* gethostbyname2(const char* name, int family) {
  Hub* hub = resolving_hub();
  if (!hub || !name) return sys::gethostbyname2(name, family);
  return lookup_static(*hub, by_name(name, family));
}

hostent* gethostbyaddr(const void* address, socklen_t length, int type) {
  Hub* hub = resolving_hub();
  if (!hub || !address) return sys::gethostbyaddr(address, length, type);
  return lookup_static(*hub, by_addr(address, length, type));
}

int gethostbyname_r(const char* __restrict name, hostent* __restrict entry, char* __restrict buffer,
                    size_t size, hostent** __restrict found, int* __restrict h_error) {
  Hub* hub = resolving_hub();
  if (!hub || !name || !entry || !buffer || !found || !h_error)
    return sys::gethostbyname_r(name, entry, buffer, size, found, h_error);
  return lookup_r(*hub, by_name(name), entry, buffer, size, found, h_error);
}

int gethostbyname2_r(const char* __restrict name, int family, hostent* __restrict entry,
                     char* __restrict buffer, size_t size, hostent** __restrict found,
                     int* __restrict h_error) {
  Hub* hub = resolving_hub();
  if (!hub || !name || !entry || !buffer || !found || !h_error)
    return sys::gethostbyname2_r(name, family, entry, buffer, size, found, h_error);
  return lookup_r(*hub, by_name(name, family), entry, buffer, size, found, h_error);
}

int gethostbyaddr_r(const void* __restrict address, socklen_t length, int type,
                    hostent* __restrict entry, char* __restrict buffer, size_t size,
                    hostent** __restrict found, int* __restrict h_error) {
  Hub* hub = resolving_hub();
  if (!hub || !address || !entry || !buffer || !found || !h_error)
    return sys::gethostbyaddr_r(address, length, type, entry, buffer, size, found, h_error);
  return lookup_r(*hub, by_addr(address, length, type), entry, buffer, size, found, h_error);
}

}  // extern "C"
