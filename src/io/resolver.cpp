#include "gevent/resolver.hpp"

#include <netdb.h>

#include <memory>

namespace gevent {
namespace {

class GaiCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int value) const override { return ::gai_strerror(value); }
};

}  // namespace

const std::error_category& gai_category() noexcept {
  static const GaiCategory category;
  return category;
}

std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service, int family,
                                  int socktype, int protocol, int flags) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = socktype;
  hints.ai_protocol = protocol;
  hints.ai_flags = flags;
  addrinfo* found = nullptr;
  const std::string h(host), s(service);
  const int rc = ::getaddrinfo(host.empty() ? nullptr : h.c_str(),
                               service.empty() ? nullptr : s.c_str(), &hints, &found);
  if (rc != 0) throw gaierror(rc, "gevent::getaddrinfo('" + h + "', '" + s + "')");
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(found, ::freeaddrinfo);
  std::vector<AddrInfo> out;
  for (auto* ai = found; ai; ai = ai->ai_next)
    out.push_back({ai->ai_family, ai->ai_socktype, ai->ai_protocol,
                   ai->ai_canonname ? ai->ai_canonname : "", address(ai->ai_addr, ai->ai_addrlen)});
  return out;
}

}  // namespace gevent
