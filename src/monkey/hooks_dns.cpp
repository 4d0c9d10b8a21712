// patch_dns(): getaddrinfo and getnameinfo run glibc's own call on the hub's resolver pool
// while the greenlet waits (gevent's default "thread" resolver), so the answers, their layout (the
// program frees them with the original freeaddrinfo) and the EAI_* codes are exactly glibc's.
// glibc's resolver calls its internal socket and poll functions, which no hook can reach: this
// is the only place DNS can be made cooperative. GEVENT_RESOLVER=block keeps the original call.
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>

#include "gevent/monkey.hpp"
#include "monkey/dns_pool.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

using gevent::Hub;
using namespace gevent::monkey::detail;
namespace sys = gevent::sys;

namespace {

std::optional<std::string> copy(const char* text) {
  if (!text) return std::nullopt;
  return std::string(text);
}

const char* c_str(const std::optional<std::string>& text) { return text ? text->c_str() : nullptr; }

struct AddrInfoLookup {
  std::optional<std::string> node, service;
  std::optional<addrinfo> hints;
  int result = EAI_SYSTEM;
  int error = 0;
  addrinfo* found = nullptr;

  AddrInfoLookup(const char* n, const char* s, const addrinfo* h)
      : node(copy(n)), service(copy(s)) {
    if (h) {  // POSIX: the other members of hints are zero or null
      hints.emplace();
      hints->ai_flags = h->ai_flags;
      hints->ai_family = h->ai_family;
      hints->ai_socktype = h->ai_socktype;
      hints->ai_protocol = h->ai_protocol;
    }
  }
  ~AddrInfoLookup() {
    if (found) sys::freeaddrinfo(found);
  }
  void run() {
    result = sys::getaddrinfo(c_str(node), c_str(service), hints ? &*hints : nullptr, &found);
    error = errno;
  }
};

struct NameInfoLookup {
  sockaddr_storage address{};
  socklen_t length;
  std::string host, service;
  bool want_host, want_service;
  int flags;
  int result = EAI_SYSTEM;
  int error = 0;

  NameInfoLookup(const sockaddr* sa, socklen_t salen, socklen_t hostlen, socklen_t servlen, int f)
      : length(salen),
        host(hostlen, '\0'),
        service(servlen, '\0'),
        want_host(hostlen > 0),
        want_service(servlen > 0),
        flags(f) {
    memcpy(&address, sa, salen);
  }
  void run() {
    result = sys::getnameinfo(reinterpret_cast<const sockaddr*>(&address), length,
                              want_host ? host.data() : nullptr, host.size(),
                              want_service ? service.data() : nullptr, service.size(), flags);
    error = errno;
  }
};

}  // namespace

namespace gevent::monkey {
void patch_dns() {
  detail::link_hostent_hooks();
  detail::patch(detail::kDns);
}
}  // namespace gevent::monkey

extern "C" {

int getaddrinfo(const char* __restrict node, const char* __restrict service,
                const addrinfo* __restrict hints, addrinfo** __restrict found) {
  Hub* hub = resolving_hub();
  if (!hub || !found) return sys::getaddrinfo(node, service, hints, found);
  auto lookup = std::make_shared<AddrInfoLookup>(node, service, hints);
  if (!run_on_pool(*hub, lookup)) return EAI_SYSTEM;
  *found = std::exchange(lookup->found, nullptr);
  errno = lookup->error;
  return lookup->result;
}

int getnameinfo(const sockaddr* __restrict sa, socklen_t salen, char* __restrict host,
                socklen_t hostlen, char* __restrict service, socklen_t servlen, int flags) {
  Hub* hub = resolving_hub();
  if (!hub || !sa || salen > sizeof(sockaddr_storage) || (host == nullptr) != (hostlen == 0) ||
      (service == nullptr) != (servlen == 0))
    return sys::getnameinfo(sa, salen, host, hostlen, service, servlen, flags);
  auto lookup = std::make_shared<NameInfoLookup>(sa, salen, hostlen, servlen, flags);
  if (!run_on_pool(*hub, lookup)) return EAI_SYSTEM;
  if (lookup->result == 0) {
    if (host) memcpy(host, lookup->host.data(), hostlen);
    if (service) memcpy(service, lookup->service.data(), servlen);
  }
  errno = lookup->error;
  return lookup->result;
}

}  // extern "C"
