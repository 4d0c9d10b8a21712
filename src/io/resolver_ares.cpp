// The ares resolver: c-ares driven by the hub's loop. c-ares tells us which sockets to watch
// (sock_state_cb); an io watcher per socket and one hub timer (for c-ares's retry and
// give-up times) call ares_process_fd, which runs the query callbacks on the hub. A waiting
// greenlet shares its query's state with the c-ares callback, so either may go first.
#include <ares.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gevent/config.hpp"
#include "gevent/detail/timer_node.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/hub.hpp"
#include "io/resolver_impl.hpp"
#include "sys/libc.hpp"

namespace gevent::detail {
namespace {

int eai_from_ares(int status) {
  switch (status) {
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
    case ARES_EBADNAME:
      return EAI_NONAME;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
      return EAI_AGAIN;
    case ARES_EBADFAMILY:
      return EAI_FAMILY;
    case ARES_EBADFLAGS:
    case ARES_EBADHINTS:
      return EAI_BADFLAGS;
    case ARES_ESERVICE:
      return EAI_SERVICE;
    case ARES_ENOMEM:
      return EAI_MEMORY;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return EAI_CANCELED;
    default:
      return EAI_FAIL;
  }
}

// c-ares's own socket calls, through the sys layer like the rest of the library's.
const ares_socket_functions kSysSocketFunctions{
    .asocket = [](int domain, int type, int protocol, void*) -> ares_socket_t {
      return sys::socket(domain, type, protocol);
    },
    .aclose = [](ares_socket_t fd, void*) { return sys::close(fd); },
    .aconnect = [](ares_socket_t fd, const sockaddr* peer, ares_socklen_t len,
                   void*) { return sys::connect(fd, peer, len); },
    .arecvfrom = [](ares_socket_t fd, void* buf, size_t n, int flags, sockaddr* from,
                    ares_socklen_t* from_len, void*) -> ares_ssize_t {
      return sys::recvfrom(fd, buf, n, flags, from, from_len);
    },
    .asendv = [](ares_socket_t fd, const iovec* iov, int count, void*) -> ares_ssize_t {
      return sys::writev(fd, iov, count);
    },
};

// Translates bits of one flag set into another's; false if `flags` has a bit not in the map.
bool translate_flags(int flags, std::initializer_list<std::pair<int, int>> map, int& out) {
  for (const auto& [from, to] : map) {
    if (flags & from) {
      out |= to;
      flags &= ~from;
    }
  }
  return flags == 0;
}

bool to_ares_ai_flags(int flags, int& out) {
  return translate_flags(flags,
                         {{AI_CANONNAME, ARES_AI_CANONNAME},
                          {AI_NUMERICHOST, ARES_AI_NUMERICHOST},
                          {AI_PASSIVE, ARES_AI_PASSIVE},
                          {AI_NUMERICSERV, ARES_AI_NUMERICSERV},
                          {AI_V4MAPPED, ARES_AI_V4MAPPED},
                          {AI_ALL, ARES_AI_ALL},
                          {AI_ADDRCONFIG, ARES_AI_ADDRCONFIG}},
                         out);
}

bool to_ares_ni_flags(int flags, int& out) {
  out = ARES_NI_LOOKUPHOST | ARES_NI_LOOKUPSERVICE;
  return translate_flags(flags,
                         {{NI_NOFQDN, ARES_NI_NOFQDN},
                          {NI_NUMERICHOST, ARES_NI_NUMERICHOST},
                          {NI_NAMEREQD, ARES_NI_NAMEREQD},
                          {NI_NUMERICSERV, ARES_NI_NUMERICSERV},
                          {NI_DGRAM, ARES_NI_DGRAM}},
                         out);
}

// The canonical name goes on the first result: the end of the CNAME chain, else the name
// asked for.
std::vector<AddrInfo> to_addr_infos(const ares_addrinfo& found) {
  std::vector<AddrInfo> out;
  for (const ares_addrinfo_node* node = found.nodes; node; node = node->ai_next)
    out.push_back({node->ai_family, node->ai_socktype, node->ai_protocol, "",
                   address(node->ai_addr, node->ai_addrlen)});
  if (!out.empty()) {
    const char* canonical = found.name;
    for (const ares_addrinfo_cname* c = found.cnames; c; c = c->next)
      if (c->name) canonical = c->name;
    out.front().canonname = canonical ? canonical : "";
  }
  return out;
}

void ensure_ares_library() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  if (status != ARES_SUCCESS)
    throw std::runtime_error(std::string("gevent: ares_library_init: ") + ares_strerror(status));
}

// One lookup's state, shared by the waiting greenlet and the c-ares callback. While a
// greenlet waits for it, it is linked into its resolver's list of awaited queries.
struct QueryState {
  Waiter* waiter = nullptr;  // null once no greenlet waits for it
  int status = ARES_SUCCESS;
  bool done = false;
  QueryState* prev = nullptr;
  QueryState* next = nullptr;
};

template <class T>
struct Query : QueryState {
  T value{};
};

// What c-ares's `arg` points to; the callback, which c-ares calls exactly once, deletes it.
template <class T>
using QueryRef = std::shared_ptr<Query<T>>;

// Finishes the query `arg` names: fill(value) converts the result while a greenlet waits.
template <class T, class Fill>
void finish(void* arg, int status, Fill fill) noexcept {
  const std::unique_ptr<QueryRef<T>> ref(static_cast<QueryRef<T>*>(arg));
  Query<T>& query = **ref;
  if (!query.waiter) return;
  query.status = status;
  if (status == ARES_SUCCESS) fill(query.value);
  query.done = true;
  query.waiter->wake();
}

class AresResolver final : public Resolver {
 public:
  explicit AresResolver(Hub& hub) : hub_(hub) {
    timer_.self = this;
    timer_.fire = [](TimerNode& node) {
      static_cast<Timer&>(node).self->process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    };
  }
  ~AresResolver() override {
    // Pending queries get ARES_EDESTRUCTION; the sockets close. Greenlets have normally
    // stopped waiting by now; any the hub had to abandon must not be woken.
    for (QueryState* query = awaited_; query; query = query->next) query->waiter = nullptr;
    if (channel_) ares_destroy(channel_);
    sockets_.clear();
    hub_.cancel_timer(timer_);
  }
  std::string_view kind() const override { return "ares"; }

 private:
  struct Socket {
    int fd;
    std::unique_ptr<loop::IoWatcher> watcher;
  };
  struct Timer : TimerNode {
    AresResolver* self = nullptr;
  };

  std::vector<AddrInfo> resolve(const std::string& host, const std::string& service,
                                const AddrInfoHints& hints, std::error_code& ec) override;
  HostEntry resolve_host(const std::string& host, std::error_code& ec) override;
  HostEntry resolve_address(const address& ip, std::error_code& ec) override;
  NameInfo resolve_name_info(const address& sockaddr, int flags, std::error_code& ec) override;

  template <class T, class Start>
  T run(Start start, std::error_code& ec);
  ares_channel channel();
  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
  void watch_socket(int fd, int events);
  void process(int read_fd, int write_fd);
  void rearm_timer();
  void await(QueryState& query, Waiter& waiter);
  void stop_awaiting(QueryState& query);

  Hub& hub_;
  ares_channel channel_ = nullptr;
  std::vector<Socket> sockets_;
  Timer timer_;
  QueryState* awaited_ = nullptr;  // the queries greenlets wait for
};

ares_channel AresResolver::channel() {
  if (channel_) return channel_;
  ensure_ares_library();
  const Config& settings = config();
  ares_options options{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
  options.sock_state_cb = &AresResolver::on_socket_state;
  options.sock_state_cb_data = this;
  char lookups[] = "fb";  // /etc/hosts, then DNS
  options.lookups = lookups;
  if (settings.ares_timeout) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(settings.ares_timeout.value());
    options.timeout = static_cast<int>(std::clamp<std::int64_t>(ms.count(), 1, 1 << 30));
    mask |= ARES_OPT_TIMEOUTMS;
  }
  if (settings.ares_tries > 0) {
    options.tries = settings.ares_tries;
    mask |= ARES_OPT_TRIES;
  }
  ares_channel made = nullptr;
  if (const int status = ares_init_options(&made, &options, mask); status != ARES_SUCCESS)
    throw std::runtime_error(std::string("gevent: ares_init_options: ") + ares_strerror(status));
  if (!settings.ares_servers.empty()) {
    std::string csv = settings.ares_servers;
    std::replace(csv.begin(), csv.end(), ' ', ',');
    if (ares_set_servers_ports_csv(made, csv.c_str()) != ARES_SUCCESS) {
      ares_destroy(made);
      throw std::invalid_argument("gevent: ares servers '" + settings.ares_servers +
                                  "' (GEVENTARES_SERVERS): expected ip[:port] or [ipv6]:port, "
                                  "separated by commas");
    }
  }
  ares_set_socket_functions(made, &kSysSocketFunctions, nullptr);
  channel_ = made;
  return channel_;
}

// --- the loop's side: sockets and the timer ---

void AresResolver::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
  static_cast<AresResolver*>(data)->watch_socket(
      fd, (readable ? loop::READ : 0) | (writable ? loop::WRITE : 0));
}

// Called before c-ares closes a socket (events 0): its watcher goes first, as libuv insists.
// That may be from inside the watcher's own callback, which the loop allows.
void AresResolver::watch_socket(int fd, int events) {
  auto it = std::find_if(sockets_.begin(), sockets_.end(), [fd](auto& s) { return s.fd == fd; });
  if (events == 0) {
    if (it != sockets_.end()) sockets_.erase(it);
    return;
  }
  if (it == sockets_.end()) {
    auto watcher = hub_.loop().io(fd, events, [this, fd](int fired) {
      process(fired & loop::READ ? fd : ARES_SOCKET_BAD,
              fired & loop::WRITE ? fd : ARES_SOCKET_BAD);
    });
    it = sockets_.insert(sockets_.end(), Socket{fd, std::move(watcher)});
  } else {
    it->watcher->set_events(events);
  }
  it->watcher->start();
}

void AresResolver::process(int read_fd, int write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  rearm_timer();
}

// Arms the hub timer for c-ares's next deadline (a retry, or giving up), if it has queries.
// At least 1 ms: c-ares often reports 0 right after a retry (its queries time out a few us
// apart), and one hub wake-up per millisecond handles them all. (This floor once also hid a
// libuv backend hang on zero-delay timers; the backend itself now ends its poll when a timer
// fires.)
void AresResolver::rearm_timer() {
  hub_.cancel_timer(timer_);
  timeval next{};
  if (!channel_ || !ares_timeout(channel_, nullptr, &next)) return;
  const Duration after =
      std::chrono::seconds(next.tv_sec) + std::chrono::microseconds(next.tv_usec);
  hub_.add_timer(timer_, std::max<Duration>(after, std::chrono::milliseconds(1)));
}

// --- the greenlet's side ---

// Starts a query (start(channel, arg)) and waits for its callback. A greenlet leaving early
// (Timeout, kill) abandons the query: its callback will find no waiter.
template <class T, class Start>
T AresResolver::run(Start start, std::error_code& ec) {
  if (hub_.in_hub()) Hub::throw_blocking_in_hub("a name lookup (ares resolver)");
  ares_channel ch = channel();
  auto query = std::make_shared<Query<T>>();
  Waiter waiter({"a DNS answer (c-ares)"});
  await(*query, waiter);
  struct Leave {
    AresResolver& self;
    QueryState& query;
    ~Leave() { self.stop_awaiting(query); }
  } leave{*this, *query};
  start(ch, new QueryRef<T>(query));
  rearm_timer();
  while (!query->done) waiter.wait();
  if (query->status != ARES_SUCCESS) {
    ec = gai_error(eai_from_ares(query->status));
    return {};
  }
  ec.clear();
  return std::move(query->value);
}

void AresResolver::await(QueryState& query, Waiter& waiter) {
  query.waiter = &waiter;
  query.next = awaited_;
  if (awaited_) awaited_->prev = &query;
  awaited_ = &query;
}

// When no greenlet waits any more, the queries c-ares still has are abandoned ones: cancel
// them, so that their sockets and timer go at once (their callbacks only free them).
void AresResolver::stop_awaiting(QueryState& query) {
  query.waiter = nullptr;
  (query.prev ? query.prev->next : awaited_) = query.next;
  if (query.next) query.next->prev = query.prev;
  query.prev = query.next = nullptr;
  if (!awaited_ && channel_) {
    ares_cancel(channel_);
    rearm_timer();
  }
}

std::vector<AddrInfo> AresResolver::resolve(const std::string& host, const std::string& service,
                                            const AddrInfoHints& hints, std::error_code& ec) {
  // Numeric input (or no host: the loopback or wildcard address): libc, without any lookup.
  // c-ares 1.18 would ask the DNS server about a name despite AI_NUMERICHOST.
  if (needs_no_lookup(host, service, hints)) return libc::getaddrinfo(host, service, hints, ec);
  ares_addrinfo_hints wanted{0, hints.family, hints.socktype, hints.protocol};
  if (!to_ares_ai_flags(hints.flags, wanted.ai_flags)) {
    ec = gai_error(EAI_BADFLAGS);
    return {};
  }
  using Result = std::vector<AddrInfo>;
  auto found = run<Result>(
      [&](ares_channel ch, void* arg) {
        ares_getaddrinfo(
            ch, host.c_str(), service.empty() ? nullptr : service.c_str(), &wanted,
            [](void* arg, int status, int, ares_addrinfo* result) {
              const std::unique_ptr<ares_addrinfo, void (*)(ares_addrinfo*)> owned(
                  result, ares_freeaddrinfo);
              finish<Result>(arg, status, [&](Result& out) {
                if (result) out = to_addr_infos(*result);
              });
            },
            arg);
      },
      ec);
  if (!found.empty() && !(hints.flags & AI_CANONNAME)) found.front().canonname.clear();
  return found;
}

void on_hostent(void* arg, int status, int, hostent* entry) {
  finish<HostEntry>(arg, status, [&](HostEntry& out) {
    if (entry) out = to_host_entry(*entry);
  });
}

HostEntry AresResolver::resolve_host(const std::string& host, std::error_code& ec) {
  return run<HostEntry>(
      [&](ares_channel ch, void* arg) {
        ares_gethostbyname(ch, host.c_str(), AF_INET, &on_hostent, arg);
      },
      ec);
}

HostEntry AresResolver::resolve_address(const address& ip, std::error_code& ec) {
  const auto [raw, raw_len] = raw_ip(ip);
  return run<HostEntry>(
      [&, raw = raw, raw_len = raw_len](ares_channel ch, void* arg) {
        ares_gethostbyaddr(ch, raw, static_cast<int>(raw_len), ip.family(), &on_hostent, arg);
      },
      ec);
}

NameInfo AresResolver::resolve_name_info(const address& sockaddr, int flags, std::error_code& ec) {
  if (needs_no_lookup(flags)) return libc::getnameinfo(sockaddr, flags, ec);
  int ares_flags = 0;
  if (!to_ares_ni_flags(flags, ares_flags)) {
    ec = gai_error(EAI_BADFLAGS);
    return {};
  }
  auto found = run<NameInfo>(
      [&](ares_channel ch, void* arg) {
        ares_getnameinfo(
            ch, sockaddr.data(), sockaddr.size(), ares_flags,
            [](void* arg, int status, int, char* host, char* service) {
              finish<NameInfo>(arg, status, [&](NameInfo& out) {
                out = {host ? host : "", service ? service : ""};
              });
            },
            arg);
      },
      ec);
  // c-ares 1.18 writes a numeric IPv6 host with a "%0" scope even when it has none.
  if (sockaddr.family() == AF_INET6 &&
      reinterpret_cast<const sockaddr_in6*>(sockaddr.data())->sin6_scope_id == 0 &&
      found.host.ends_with("%0"))
    found.host.resize(found.host.size() - 2);
  return found;
}

}  // namespace

std::unique_ptr<Resolver> make_ares_resolver(Hub& hub) {
  return std::make_unique<AresResolver>(hub);
}

}  // namespace gevent::detail
