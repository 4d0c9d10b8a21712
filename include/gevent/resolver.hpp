// Name resolution (gevent.resolver): getaddrinfo and friends, blocking only the calling
// greenlet.
//
//   auto found = gevent::getaddrinfo("example.com", "https", {.socktype = SOCK_STREAM});
//   std::string ip = gevent::gethostbyname("localhost");                 // "127.0.0.1"
//   auto [name, aliases, addresses] = gevent::gethostbyaddr("127.0.0.1");
//   auto [host, service] = gevent::getnameinfo(gevent::address::ip("127.0.0.1", 80), 0);
//
// Every hub has one resolver, get_resolver(), made on first use from gevent::config().resolver
// (GEVENT_RESOLVER); the free functions below use it:
//
//   thread (default)  the libc calls, run on the hub's resolver pool (up to
//                     config().resolver_threads threads, GEVENT_RESOLVER_THREADS).
//                     Numeric hosts and ports are resolved inline, without a thread.
//   ares              c-ares, driven by the hub's loop: one channel per hub, created on the
//                     first lookup, destroyed with the hub. /etc/hosts first, then DNS
//                     (lookups "fb"). Servers from /etc/resolv.conf, or config().ares_servers
//                     (GEVENTARES_SERVERS, "127.0.0.1:5353,[::1]:53"); config().ares_timeout
//                     and ares_tries (GEVENTARES_TIMEOUT, GEVENTARES_TRIES) bound each lookup.
//   block             the libc calls on the calling thread: they block the whole hub.
//
// Errors: the throwing form throws gevent::gaierror, a std::system_error in gai_category()
// whose value is the EAI_* code; the std::error_code& form sets that code instead. All calls
// use EAI codes, gethostbyname_ex and gethostbyaddr too (where Python raises socket.herror
// with h_errno): HOST_NOT_FOUND and NO_DATA become EAI_NONAME, TRY_AGAIN EAI_AGAIN,
// NO_RECOVERY EAI_FAIL. A DNS server that does not answer within ares's limits is EAI_AGAIN,
// as glibc reports it; except for gethostbyaddr and getnameinfo under ares, which c-ares
// reports as EAI_NONAME. libc's EAI_SYSTEM becomes the errno it stands for
// (std::system_category()). A bad config().resolver or ares_servers throws
// std::invalid_argument from both forms.
//
// Waiting: thread and ares lookups suspend only the calling greenlet, so an enclosing
// gevent::Timeout or a kill() interrupts them (thrown in both forms). A lookup already running
// on a pool thread cannot be stopped: the greenlet stops waiting and the result is dropped
// when it arrives. An abandoned ares lookup is cancelled once no greenlet of the hub waits for
// any. block never switches, so nothing can interrupt it. A lookup that must wait, called
// from the hub itself (a loop callback), throws BlockingSwitchOutError.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "gevent/address.hpp"

namespace gevent {

// What getaddrinfo(3) takes besides host and service. Zero means any; flags are AI_*.
struct AddrInfoHints {
  int family = AF_UNSPEC;
  int socktype = 0;
  int protocol = 0;
  int flags = 0;
};

// One result of getaddrinfo. canonname is set on the first result when AI_CANONNAME asks.
// Under ares, socktype and protocol are those of the hints (0 when the hints leave them 0),
// where libc lists every socket type.
struct AddrInfo {
  int family = AF_UNSPEC;
  int socktype = 0;
  int protocol = 0;
  std::string canonname;
  gevent::address address;
};

// Python's (hostname, aliaslist, ipaddrlist): the official name, other names, and the
// addresses as numeric strings.
struct HostEntry {
  std::string name;
  std::vector<std::string> aliases;
  std::vector<std::string> addresses;
};

// Python's (host, port) from getnameinfo: a name or numeric host, and a service name or port.
struct NameInfo {
  std::string host;
  std::string service;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // "thread", "ares" or "block".
  virtual std::string_view kind() const = 0;

  // Resolves host and service (a port number or a service name) like getaddrinfo(3). An
  // empty host means the loopback address (the wildcard with AI_PASSIVE); an empty service,
  // port 0. Finding nothing is an error (EAI_NONAME), never an empty result.
  std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service,
                                    const AddrInfoHints& hints = {});
  std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service,
                                    const AddrInfoHints& hints, std::error_code& ec);

  // The first IPv4 address of host, as a numeric string ("127.0.0.1").
  std::string gethostbyname(std::string_view host);
  std::string gethostbyname(std::string_view host, std::error_code& ec);

  // host's official name, aliases and IPv4 addresses.
  HostEntry gethostbyname_ex(std::string_view host);
  HostEntry gethostbyname_ex(std::string_view host, std::error_code& ec);

  // The names of a numeric IPv4 or IPv6 address (a name is resolved to its first address
  // first, as Python does), and the addresses of that name.
  HostEntry gethostbyaddr(std::string_view ip_address);
  HostEntry gethostbyaddr(std::string_view ip_address, std::error_code& ec);

  // Host and service for an IP socket address; flags are NI_* (NI_NUMERICHOST, NI_NAMEREQD,
  // ...). An address that is not IPv4 or IPv6: EAI_FAMILY.
  NameInfo getnameinfo(const address& sockaddr, int flags);
  NameInfo getnameinfo(const address& sockaddr, int flags, std::error_code& ec);

 protected:
  Resolver() = default;

  // Each kind's lookups, with host and service already owned strings. They set ec (and
  // return an empty value) on failure, and clear it on success.
  virtual std::vector<AddrInfo> resolve(const std::string& host, const std::string& service,
                                        const AddrInfoHints& hints, std::error_code& ec) = 0;
  virtual HostEntry resolve_host(const std::string& host, std::error_code& ec) = 0;
  virtual HostEntry resolve_address(const address& ip, std::error_code& ec) = 0;
  virtual NameInfo resolve_name_info(const address& sockaddr, int flags, std::error_code& ec) = 0;
};

// This thread's hub's resolver (gevent's get_hub().resolver), made on first use from
// config().resolver; a value other than thread, ares or block throws std::invalid_argument.
// It lives as long as the hub.
Resolver& get_resolver();

// get_resolver().getaddrinfo(...), and so on.
std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service,
                                  const AddrInfoHints& hints = {});
std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service,
                                  const AddrInfoHints& hints, std::error_code& ec);
// Python's argument order: getaddrinfo(host, port, family, type, proto, flags).
std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service, int family,
                                  int socktype = 0, int protocol = 0, int flags = 0);
std::string gethostbyname(std::string_view host);
std::string gethostbyname(std::string_view host, std::error_code& ec);
HostEntry gethostbyname_ex(std::string_view host);
HostEntry gethostbyname_ex(std::string_view host, std::error_code& ec);
HostEntry gethostbyaddr(std::string_view ip_address);
HostEntry gethostbyaddr(std::string_view ip_address, std::error_code& ec);
NameInfo getnameinfo(const address& sockaddr, int flags);
NameInfo getnameinfo(const address& sockaddr, int flags, std::error_code& ec);

// getaddrinfo's EAI_* errors (negative values on glibc), named "getaddrinfo".
const std::error_category& gai_category() noexcept;

// socket.gaierror.
class gaierror : public std::system_error {
 public:
  gaierror(std::error_code code, const std::string& what) : std::system_error(code, what) {}
  gaierror(int eai_code, const std::string& what)
      : std::system_error(eai_code, gai_category(), what) {}
};

}  // namespace gevent
