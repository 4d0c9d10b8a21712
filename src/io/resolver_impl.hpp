// What the resolver kinds share (src/io/resolver*.cpp): their factories, the libc lookups
// that thread and block run, and conversions.
#pragma once

#include <netdb.h>

#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "gevent/resolver.hpp"

namespace gevent {
class Hub;
}

namespace gevent::detail {

std::unique_ptr<Resolver> make_block_resolver();
std::unique_ptr<Resolver> make_thread_resolver(Hub& hub);
std::unique_ptr<Resolver> make_ares_resolver(Hub& hub);

inline std::error_code gai_error(int eai_code) { return {eai_code, gai_category()}; }

// A numeric IPv4 or IPv6 host, which resolves without any lookup.
bool is_numeric_host(std::string_view host);
// Empty or all digits.
bool is_numeric_service(std::string_view service);
// Whether libc's getaddrinfo answers at once, without asking anyone: numeric host and
// service (or none), by their text or by AI_NUMERICHOST and AI_NUMERICSERV.
bool needs_no_lookup(std::string_view host, std::string_view service, const AddrInfoHints& hints);
// getnameinfo's equivalent: NI_NUMERICHOST and NI_NUMERICSERV.
inline bool needs_no_lookup(int ni_flags) {
  return (ni_flags & NI_NUMERICHOST) && (ni_flags & NI_NUMERICSERV);
}

// The raw IPv4 or IPv6 address inside an IP socket address, and its size.
std::pair<const void*, socklen_t> raw_ip(const address& ip);

// A hostent's name, aliases and addresses (as numeric strings).
HostEntry to_host_entry(const hostent& entry);

// The libc calls, through detail::sys, on the calling thread.
namespace libc {
std::vector<AddrInfo> getaddrinfo(const std::string& host, const std::string& service,
                                  const AddrInfoHints& hints, std::error_code& ec);
HostEntry gethostbyname_ex(const std::string& host, std::error_code& ec);
HostEntry gethostbyaddr(const address& ip, std::error_code& ec);
NameInfo getnameinfo(const address& sockaddr, int flags, std::error_code& ec);
}  // namespace libc

}  // namespace gevent::detail
