// Name resolution (gevent.resolver): getaddrinfo and friends, cooperative.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "gevent/address.hpp"

namespace gevent {

struct AddrInfo {
  int family = AF_UNSPEC;
  int socktype = 0;
  int protocol = 0;
  std::string canonname;
  gevent::address address;
};

// Resolves host and service (a port number or a service name) like getaddrinfo(3).
// Failure throws gevent::gaierror (a std::system_error in gai_category()).
std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service,
                                  int family = AF_UNSPEC, int socktype = 0, int protocol = 0,
                                  int flags = 0);

// getaddrinfo's EAI_* errors.
const std::error_category& gai_category() noexcept;

class gaierror : public std::system_error {
 public:
  gaierror(int eai_code, const std::string& what)
      : std::system_error(eai_code, gai_category(), what) {}
};

}  // namespace gevent
