#include "gevent/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace gevent {
namespace {

[[noreturn]] void bad_address(std::string_view text, const char* why) {
  throw std::invalid_argument("gevent: bad address '" + std::string(text) + "': " + why);
}

std::uint16_t parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || err != std::errc() || end != text.data() + text.size() || value > 65535)
    bad_address(whole, "the port must be a number from 0 to 65535");
  return static_cast<std::uint16_t>(value);
}

}  // namespace

address::address(const sockaddr* sa, socklen_t len) {
  if (len > sizeof(storage_)) throw std::invalid_argument("gevent: sockaddr larger than storage");
  std::memcpy(&storage_, sa, len);
  len_ = len;
}

address address::ip(std::string_view host, std::uint16_t port) {
  const std::string text(host);
  address a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len_ = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len_ = sizeof(sockaddr_in6);
  } else {
    bad_address(host, "not a numeric IPv4 or IPv6 host (resolve names with gevent::getaddrinfo)");
  }
  return a;
}

address address::parse(std::string_view host_port) {
  if (!host_port.empty() && host_port.front() == '[') {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':')
      bad_address(host_port, "expected [host]:port");
    return ip(host_port.substr(1, close - 1), parse_port(host_port.substr(close + 2), host_port));
  }
  const auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos) bad_address(host_port, "expected host:port");
  const auto host = host_port.substr(0, colon);
  if (host.find(':') != std::string_view::npos)
    bad_address(host_port, "an IPv6 host must be bracketed: [host]:port");
  return ip(host.empty() ? "0.0.0.0" : host, parse_port(host_port.substr(colon + 1), host_port));
}

address address::unix_path(std::string_view path) {
  address a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
  if (path.empty() || path.size() >= sizeof(un->sun_path))
    bad_address(path, "a Unix socket path must have 1 to 107 bytes");
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  a.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

std::string address::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET:
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                  sizeof(buf));
      return buf;
    case AF_INET6:
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                  sizeof(buf));
      return buf;
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
      const auto max =
          len_ > offsetof(sockaddr_un, sun_path) ? len_ - offsetof(sockaddr_un, sun_path) : 0;
      return std::string(un->sun_path, ::strnlen(un->sun_path, max));
    }
    default:
      return {};
  }
}

std::uint16_t address::port() const {
  switch (family()) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default:
      return 0;
  }
}

std::string address::to_string() const {
  switch (family()) {
    case AF_INET6: {
      std::string text = "[";  // built step by step: GCC 12 misreports "[" + string (-Wrestrict)
      text += host();
      text += "]:";
      text += std::to_string(port());
      return text;
    }
    case AF_INET:
      return host() + ":" + std::to_string(port());
    default:
      return host();
  }
}

bool operator==(const address& a, const address& b) {
  return a.len_ == b.len_ && std::memcmp(&a.storage_, &b.storage_, a.len_) == 0;
}

}  // namespace gevent
