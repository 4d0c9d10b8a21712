// patch_dns(), the older calls: gethostbyname, gethostbyname2, gethostbyaddr and their _r
// forms. Each runs glibc's own _r call on the hub's resolver pool, into a buffer of the job's
// own (a greenlet that stops waiting must not have the pool thread write into its memory
// later), then moves the entry into the caller's buffer, or, for the forms without _r, into
// this thread's static one, as glibc keeps a static one.
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include <cerrno>
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

struct HostEntLookup {
  Call call;
  std::vector<char> buffer;
  hostent entry{};
  hostent* found = nullptr;
  int result = 0;
  int h_error = 0;

  HostEntLookup(Call c, size_t buffer_size) : call(std::move(c)), buffer(buffer_size) {}
  void run() { result = call(&entry, buffer.data(), buffer.size(), &found, &h_error); }
};

// Points `p`, which may point into `from`, at the same place in `to`.
template <class T>
T* moved(T* p, const std::vector<char>& from, char* to) {
  const auto* at = reinterpret_cast<const char*>(p);
  if (!p || at < from.data() || at >= from.data() + from.size()) return p;
  return reinterpret_cast<T*>(to + (at - from.data()));
}

// Copies the lookup's entry and buffer into `entry` and `buffer`: the buffer whole, then
// every pointer into it (the name, the two arrays and what they point at) moved along.
void move_entry(const HostEntLookup& lookup, hostent* entry, char* buffer) {
  memcpy(buffer, lookup.buffer.data(), lookup.buffer.size());
  *entry = lookup.entry;
  entry->h_name = moved(entry->h_name, lookup.buffer, buffer);
  entry->h_aliases = moved(entry->h_aliases, lookup.buffer, buffer);
  entry->h_addr_list = moved(entry->h_addr_list, lookup.buffer, buffer);
  for (char** list : {entry->h_aliases, entry->h_addr_list})
    for (; list && *list; ++list) *list = moved(*list, lookup.buffer, buffer);
}

// A _r call, cooperative: the original's return value, entry and h_errno.
int lookup_r(Hub& hub, Call call, hostent* entry, char* buffer, size_t size, hostent** found,
             int* h_error) {
  auto lookup = std::make_shared<HostEntLookup>(std::move(call), size);
  *found = nullptr;
  if (!run_on_pool(hub, lookup)) {
    *h_error = NETDB_INTERNAL;
    return errno;
  }
  if (lookup->found) {
    move_entry(*lookup, entry, buffer);
    *found = entry;
  }
  *h_error = lookup->h_error;
  return lookup->result;
}

// A call without _r: into this thread's static entry, its buffer grown as glibc grows its
// own; h_errno set. Valid until the next such call on this thread, as glibc's.
hostent* lookup_static(Hub& hub, const Call& call) {
  thread_local hostent entry;
  thread_local std::vector<char> buffer(1024);
  for (;;) {
    hostent* found = nullptr;
    int h_error = 0;
    const int rc = lookup_r(hub, call, &entry, buffer.data(), buffer.size(), &found, &h_error);
    if (rc == ERANGE && h_error == NETDB_INTERNAL && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    h_errno = h_error;
    if (rc != 0 && h_error == NETDB_INTERNAL) errno = rc;
    return found;
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
