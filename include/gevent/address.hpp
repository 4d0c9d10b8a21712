// gevent::address: a socket address (IPv4, IPv6 or a Unix path), the C++ form of the
// (host, port) tuples and path strings Python's socket functions take and return.
//
//   auto a = gevent::address::parse("127.0.0.1:8000");   // also "[::1]:8000", ":8000"
//   auto u = gevent::address::unix_path("/run/app.sock");
//   a.to_string();                                      // "127.0.0.1:8000"
//
// parse() takes numeric hosts only, and never blocks; names go through gevent::getaddrinfo
// (resolver.hpp) or resolve_address().
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace gevent {

class address {
 public:
  address() = default;  // empty: family() == AF_UNSPEC
  // Copies `len` bytes of a sockaddr (as returned by accept, getaddrinfo, ...).
  address(const sockaddr* sa, socklen_t len);

  // "host:port", "[v6host]:port" or ":port" (all IPv4 interfaces). The host must be
  // numeric. Malformed text or a port outside 0..65535: std::invalid_argument saying what.
  static address parse(std::string_view host_port);
  // A numeric host ("10.0.0.1", "::1") and a port. Malformed: std::invalid_argument.
  static address ip(std::string_view host, std::uint16_t port);
  // A Unix-domain path; longer than sun_path allows: std::invalid_argument.
  static address unix_path(std::string_view path);

  int family() const { return storage_.ss_family; }
  bool empty() const { return family() == AF_UNSPEC; }
  // Numeric host of an IP address ("127.0.0.1", "::1"), or the path of a Unix address.
  std::string host() const;
  // Port of an IP address; 0 for other families.
  std::uint16_t port() const;
  // "127.0.0.1:8000", "[::1]:8000", or the Unix path.
  std::string to_string() const;

  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }
  socklen_t capacity() const { return sizeof(storage_); }
  void resize(socklen_t len) { len_ = len; }

  friend bool operator==(const address& a, const address& b);

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace gevent
