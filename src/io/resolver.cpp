// The resolver's public surface: argument checks, both error forms, and the hub's resolver.
// Each kind's lookups live in resolver_libc.cpp (thread, block) and resolver_ares.cpp.
#include "gevent/resolver.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>
#include <utility>

#include "gevent/config.hpp"
#include "gevent/detail/hub_service.hpp"
#include "gevent/detail/or_throw.hpp"
#include "gevent/hub.hpp"
#include "io/resolver_impl.hpp"

namespace gevent {
namespace {

class GaiCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int value) const override { return ::gai_strerror(value); }
};

// Runs the error_code form of a call and throws what it reports.
template <class Call>
auto throwing(Call call, std::string_view function, std::string_view argument) {
  return detail::or_throw(call, [&](std::error_code ec) {
    throw gaierror(ec, "gevent::" + std::string(function) + "(" + std::string(argument) + ")");
  });
}

std::string quoted(std::string_view text) {
  std::string out(1, '\'');  // appended, not "'" + string: GCC 12 misreports that (-Wrestrict)
  out.append(text);
  out += '\'';
  return out;
}

std::unique_ptr<Resolver> make_resolver(Hub& hub) {
  const std::string& kind = config().resolver;
  if (kind == "thread") return detail::make_thread_resolver(hub);
  if (kind == "ares") return detail::make_ares_resolver(hub);
  if (kind == "block") return detail::make_block_resolver();
  throw std::invalid_argument("gevent: config().resolver is '" + kind +
                              "': expected thread, ares or block");
}

// The resolver of a hub, a service of the hub: made on first use, destroyed with the hub
// once its greenlets are gone, so no greenlet can still wait on it.
class HubResolver final : public detail::HubService {
 public:
  explicit HubResolver(Hub& hub) : resolver_(make_resolver(hub)) {}
  Resolver& resolver() { return *resolver_; }

 private:
  std::unique_ptr<Resolver> resolver_;
};

}  // namespace

const std::error_category& gai_category() noexcept {
  static const GaiCategory category;
  return category;
}

Resolver& get_resolver() { return Hub::current().service<HubResolver>().resolver(); }

// --- Resolver: both error forms over each kind's lookups ---

std::vector<AddrInfo> Resolver::getaddrinfo(std::string_view host, std::string_view service,
                                            const AddrInfoHints& hints, std::error_code& ec) {
  auto found = resolve(std::string(host), std::string(service), hints, ec);
  if (!ec && found.empty()) ec = detail::gai_error(EAI_NONAME);
  return found;
}

std::vector<AddrInfo> Resolver::getaddrinfo(std::string_view host, std::string_view service,
                                            const AddrInfoHints& hints) {
  return throwing([&](std::error_code& ec) { return getaddrinfo(host, service, hints, ec); },
                  "getaddrinfo", quoted(host) + ", " + quoted(service));
}

std::string Resolver::gethostbyname(std::string_view host, std::error_code& ec) {
  in_addr ipv4{};
  if (::inet_pton(AF_INET, std::string(host).c_str(), &ipv4) == 1) {
    ec.clear();
    return std::string(host);
  }
  const auto found = getaddrinfo(host, "", AddrInfoHints{.family = AF_INET}, ec);
  return ec ? std::string() : found.front().address.host();
}

std::string Resolver::gethostbyname(std::string_view host) {
  return throwing([&](std::error_code& ec) { return gethostbyname(host, ec); }, "gethostbyname",
                  quoted(host));
}

HostEntry Resolver::gethostbyname_ex(std::string_view host, std::error_code& ec) {
  return resolve_host(std::string(host), ec);
}

HostEntry Resolver::gethostbyname_ex(std::string_view host) {
  return throwing([&](std::error_code& ec) { return gethostbyname_ex(host, ec); },
                  "gethostbyname_ex", quoted(host));
}

HostEntry Resolver::gethostbyaddr(std::string_view ip_address, std::error_code& ec) {
  address ip;
  if (detail::is_numeric_host(ip_address)) {
    ip = address::ip(ip_address, 0);
  } else {
    const auto found = getaddrinfo(ip_address, "", {}, ec);
    if (ec) return {};
    ip = found.front().address;
  }
  return resolve_address(ip, ec);
}

HostEntry Resolver::gethostbyaddr(std::string_view ip_address) {
  return throwing([&](std::error_code& ec) { return gethostbyaddr(ip_address, ec); },
                  "gethostbyaddr", quoted(ip_address));
}

NameInfo Resolver::getnameinfo(const address& sockaddr, int flags, std::error_code& ec) {
  if (sockaddr.family() != AF_INET && sockaddr.family() != AF_INET6) {
    ec = detail::gai_error(EAI_FAMILY);
    return {};
  }
  return resolve_name_info(sockaddr, flags, ec);
}

NameInfo Resolver::getnameinfo(const address& sockaddr, int flags) {
  return throwing([&](std::error_code& ec) { return getnameinfo(sockaddr, flags, ec); },
                  "getnameinfo", quoted(sockaddr.to_string()) + ", " + std::to_string(flags));
}

// --- the free functions: this hub's resolver ---

std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service,
                                  const AddrInfoHints& hints) {
  return get_resolver().getaddrinfo(host, service, hints);
}
std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service,
                                  const AddrInfoHints& hints, std::error_code& ec) {
  return get_resolver().getaddrinfo(host, service, hints, ec);
}
std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service, int family,
                                  int socktype, int protocol, int flags) {
  return get_resolver().getaddrinfo(host, service, {family, socktype, protocol, flags});
}
std::string gethostbyname(std::string_view host) { return get_resolver().gethostbyname(host); }
std::string gethostbyname(std::string_view host, std::error_code& ec) {
  return get_resolver().gethostbyname(host, ec);
}
HostEntry gethostbyname_ex(std::string_view host) { return get_resolver().gethostbyname_ex(host); }
HostEntry gethostbyname_ex(std::string_view host, std::error_code& ec) {
  return get_resolver().gethostbyname_ex(host, ec);
}
HostEntry gethostbyaddr(std::string_view ip_address) {
  return get_resolver().gethostbyaddr(ip_address);
}
HostEntry gethostbyaddr(std::string_view ip_address, std::error_code& ec) {
  return get_resolver().gethostbyaddr(ip_address, ec);
}
NameInfo getnameinfo(const address& sockaddr, int flags) {
  return get_resolver().getnameinfo(sockaddr, flags);
}
NameInfo getnameinfo(const address& sockaddr, int flags, std::error_code& ec) {
  return get_resolver().getnameinfo(sockaddr, flags, ec);
}

// --- shared by the kinds ---

namespace detail {

bool is_numeric_host(std::string_view host) {
  const std::string text(host);
  in6_addr any{};
  return ::inet_pton(AF_INET, text.c_str(), &any) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), &any) == 1;
}

bool is_numeric_service(std::string_view service) {
  return std::all_of(service.begin(), service.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool needs_no_lookup(std::string_view host, std::string_view service, const AddrInfoHints& hints) {
  return (host.empty() || (hints.flags & AI_NUMERICHOST) || is_numeric_host(host)) &&
         ((hints.flags & AI_NUMERICSERV) || is_numeric_service(service));
}

std::pair<const void*, socklen_t> raw_ip(const address& ip) {
  if (ip.family() == AF_INET)
    return {&reinterpret_cast<const sockaddr_in*>(ip.data())->sin_addr, sizeof(in_addr)};
  return {&reinterpret_cast<const sockaddr_in6*>(ip.data())->sin6_addr, sizeof(in6_addr)};
}

HostEntry to_host_entry(const hostent& entry) {
  HostEntry out;
  out.name = entry.h_name ? entry.h_name : "";
  for (char** alias = entry.h_aliases; alias && *alias; ++alias) out.aliases.emplace_back(*alias);
  char text[INET6_ADDRSTRLEN];
  for (char** addr = entry.h_addr_list; addr && *addr; ++addr) {
    if (::inet_ntop(entry.h_addrtype, *addr, text, sizeof text)) out.addresses.emplace_back(text);
  }
  return out;
}

}  // namespace detail
}  // namespace gevent
