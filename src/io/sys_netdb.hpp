// The resolver's libc calls, part of the detail::sys layer (sys.hpp): when the monkey layer
// hooks getaddrinfo and friends, these bind to the originals.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

namespace gevent::detail::sys {

inline int getaddrinfo(const char* host, const char* service, const addrinfo* hints,
                       addrinfo** found) {
  return ::getaddrinfo(host, service, hints, found);
}
inline void freeaddrinfo(addrinfo* found) { ::freeaddrinfo(found); }
inline int getnameinfo(const sockaddr* sa, socklen_t len, char* host, socklen_t host_len,
                       char* service, socklen_t service_len, int flags) {
  return ::getnameinfo(sa, len, host, host_len, service, service_len, flags);
}
inline int gethostbyname2_r(const char* name, int family, hostent* entry, char* buf, size_t buf_len,
                            hostent** found, int* h_error) {
  return ::gethostbyname2_r(name, family, entry, buf, buf_len, found, h_error);
}
inline int gethostbyaddr_r(const void* addr, socklen_t len, int family, hostent* entry, char* buf,
                           size_t buf_len, hostent** found, int* h_error) {
  return ::gethostbyaddr_r(addr, len, family, entry, buf, buf_len, found, h_error);
}

}  // namespace gevent::detail::sys
