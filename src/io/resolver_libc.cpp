// The libc resolvers: block (the calls on the calling thread) and thread (the calls on the
// hub's resolver pool, the calling greenlet waiting for the result).
#include <cerrno>
#include <memory>
#include <type_traits>
#include <utility>

#include "gevent/hub.hpp"
#include "gevent/threadpool.hpp"
#include "io/resolver_impl.hpp"
#include "sys/libc.hpp"

namespace gevent::detail {
namespace {

// EAI_SYSTEM stands for errno: report that instead.
std::error_code from_eai(int eai_code, int saved_errno) {
  if (eai_code == EAI_SYSTEM) return {saved_errno, std::system_category()};
  return gai_error(eai_code);
}

std::error_code from_h_errno(int h_error) {
  switch (h_error) {
    case HOST_NOT_FOUND:
    case NO_DATA:
      return gai_error(EAI_NONAME);
    case TRY_AGAIN:
      return gai_error(EAI_AGAIN);
    default:
      return gai_error(EAI_FAIL);
  }
}

// Runs a gethostby*_r call, growing its buffer while it asks for more.
template <class Call>
HostEntry call_reentrant(Call call, std::error_code& ec) {
  std::vector<char> buffer(1024);
  hostent entry{};
  hostent* found = nullptr;
  int h_error = 0;
  int rc;
  while ((rc = call(&entry, buffer.data(), buffer.size(), &found, &h_error)) == ERANGE &&
         buffer.size() < (1u << 20))
    buffer.resize(buffer.size() * 2);
  if (rc == 0 && found) {
    ec.clear();
    return to_host_entry(*found);
  }
  ec =
      rc != 0 && rc != ENOENT ? std::error_code(rc, std::system_category()) : from_h_errno(h_error);
  return {};
}

}  // namespace

namespace libc {

std::vector<AddrInfo> getaddrinfo(const std::string& host, const std::string& service,
                                  const AddrInfoHints& hints, std::error_code& ec) {
  addrinfo wanted{};
  wanted.ai_family = hints.family;
  wanted.ai_socktype = hints.socktype;
  wanted.ai_protocol = hints.protocol;
  wanted.ai_flags = hints.flags;
  addrinfo* found = nullptr;
  const int rc = sys::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                  service.empty() ? nullptr : service.c_str(), &wanted, &found);
  if (rc != 0) {
    ec = from_eai(rc, errno);
    return {};
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(found, sys::freeaddrinfo);
  std::vector<AddrInfo> out;
  for (const addrinfo* ai = found; ai; ai = ai->ai_next)
    out.push_back({ai->ai_family, ai->ai_socktype, ai->ai_protocol,
                   ai->ai_canonname ? ai->ai_canonname : "", address(ai->ai_addr, ai->ai_addrlen)});
  ec.clear();
  return out;
}

HostEntry gethostbyname_ex(const std::string& host, std::error_code& ec) {
  return call_reentrant(
      [&](hostent* entry, char* buf, size_t len, hostent** found, int* h_error) {
        return sys::gethostbyname2_r(host.c_str(), AF_INET, entry, buf, len, found, h_error);
      },
      ec);
}

HostEntry gethostbyaddr(const address& ip, std::error_code& ec) {
  const auto raw = raw_ip(ip);  // not a structured binding: clang 14 cannot capture those
  return call_reentrant(
      [&](hostent* entry, char* buf, size_t len, hostent** found, int* h_error) {
        return sys::gethostbyaddr_r(raw.first, raw.second, ip.family(), entry, buf, len, found,
                                    h_error);
      },
      ec);
}

NameInfo getnameinfo(const address& sockaddr, int flags, std::error_code& ec) {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  const int rc = sys::getnameinfo(sockaddr.data(), sockaddr.size(), host, sizeof host, service,
                                  sizeof service, flags);
  if (rc != 0) {
    ec = from_eai(rc, errno);
    return {};
  }
  ec.clear();
  return {host, service};
}

}  // namespace libc

namespace {

class BlockResolver final : public Resolver {
 public:
  std::string_view kind() const override { return "block"; }

 private:
  std::vector<AddrInfo> resolve(const std::string& host, const std::string& service,
                                const AddrInfoHints& hints, std::error_code& ec) override {
    return libc::getaddrinfo(host, service, hints, ec);
  }
  HostEntry resolve_host(const std::string& host, std::error_code& ec) override {
    return libc::gethostbyname_ex(host, ec);
  }
  HostEntry resolve_address(const address& ip, std::error_code& ec) override {
    return libc::gethostbyaddr(ip, ec);
  }
  NameInfo resolve_name_info(const address& sockaddr, int flags, std::error_code& ec) override {
    return libc::getnameinfo(sockaddr, flags, ec);
  }
};

// A pool job's answer: the value and the error, carried back to the hub together.
template <class T>
struct Answer {
  T value;
  std::error_code error;
};

class ThreadResolver final : public Resolver {
 public:
  explicit ThreadResolver(Hub& hub) : hub_(hub) {}
  std::string_view kind() const override { return "thread"; }

 private:
  std::vector<AddrInfo> resolve(const std::string& host, const std::string& service,
                                const AddrInfoHints& hints, std::error_code& ec) override {
    // Numeric input needs no lookup: no thread either.
    if (needs_no_lookup(host, service, hints)) return libc::getaddrinfo(host, service, hints, ec);
    return on_pool([host, service, hints](
                       std::error_code& e) { return libc::getaddrinfo(host, service, hints, e); },
                   ec);
  }
  HostEntry resolve_host(const std::string& host, std::error_code& ec) override {
    return on_pool([host](std::error_code& e) { return libc::gethostbyname_ex(host, e); }, ec);
  }
  HostEntry resolve_address(const address& ip, std::error_code& ec) override {
    return on_pool([ip](std::error_code& e) { return libc::gethostbyaddr(ip, e); }, ec);
  }
  NameInfo resolve_name_info(const address& sockaddr, int flags, std::error_code& ec) override {
    if (needs_no_lookup(flags)) return libc::getnameinfo(sockaddr, flags, ec);
    return on_pool(
        [sockaddr, flags](std::error_code& e) { return libc::getnameinfo(sockaddr, flags, e); },
        ec);
  }

  // Runs lookup(ec) on the hub's resolver pool; the job owns copies of its arguments and its result
  // slot, so a greenlet that stops waiting (Timeout, kill) leaves nothing dangling: the
  // answer lands in a result nobody reads, and is freed with the job.
  template <class Lookup, class T = std::invoke_result_t<Lookup&, std::error_code&>>
  T on_pool(Lookup lookup, std::error_code& ec) {
    if (hub_.in_hub()) Hub::throw_blocking_in_hub("a name lookup (thread resolver)");
    auto pending = resolver_threadpool(hub_).spawn([lookup = std::move(lookup)] {
      Answer<T> answer;
      answer.value = lookup(answer.error);
      return answer;
    });
    Answer<T> answer = std::move(pending).get();
    ec = answer.error;
    return std::move(answer.value);
  }

  Hub& hub_;
};

}  // namespace

std::unique_ptr<Resolver> make_block_resolver() { return std::make_unique<BlockResolver>(); }
std::unique_ptr<Resolver> make_thread_resolver(Hub& hub) {
  return std::make_unique<ThreadResolver>(hub);
}

}  // namespace gevent::detail
