// getaddrinfo and getnameinfo under gevent::monkey against a DNS server that answers after
// 300 ms (tests/support/slow_dns.py): fifty lookups at once take about one lookup's time, and
// every answer and EAI_* code is glibc's own. The process runs in a private mount namespace
// whose /etc/resolv.conf names that server and whose /etc/hosts has a name of its own, so
// the machine's files are never touched. That needs root, as `make test` runs.
#include <arpa/inet.h>
#include <netdb.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/harness.hpp"
#include "support/heartbeat.hpp"

using namespace std::chrono_literals;
using gevent::testing::Heartbeat;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kServer = "127.45.0.1";  // port 53, in this process's resolv.conf only
constexpr auto kAnswerDelay = 300ms;
constexpr int kLookups = 50;
// Ten threads (gevent's pool) would take 5 x 300 ms; serial lookups 15 s.
constexpr auto kConcurrentBound = 1s;
constexpr auto kMaxHeartbeatGap =
    std::max<std::chrono::milliseconds>(gevent::testing::kMaxHeartbeatGap, 100ms);

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Binds files of the test's own over /etc/resolv.conf, /etc/hosts and /etc/nsswitch.conf in
// a private mount namespace; an error message, or empty.
std::string use_private_resolver_files() {
  const auto dir = std::filesystem::temp_directory_path() / "gevent-test-dns";
  std::filesystem::create_directories(dir);
  write_file(dir / "resolv.conf",
             std::string("nameserver ") + kServer + "\noptions timeout:3 attempts:1\n");
  write_file(dir / "hosts", "127.0.0.1 localhost\n::1 localhost\n10.9.8.7 hosts-only.test\n");
  write_file(dir / "nsswitch.conf", "hosts: files dns\n");
  if (::unshare(CLONE_NEWNS) != 0)
    return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno) + " (run as root)";
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return std::string("making / private: ") + std::strerror(errno);
  for (const char* name : {"resolv.conf", "hosts", "nsswitch.conf"}) {
    const std::string from = dir / name, to = std::string("/etc/") + name;
    if (::mount(from.c_str(), to.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return "bind-mounting " + to + ": " + std::strerror(errno);
  }
  return "";
}

class MonkeyDnsTest : public gevent::testing::HubTest {
 protected:
  static void SetUpTestSuite() { setup_error() = use_private_resolver_files(); }
  static std::string& setup_error() {
    static std::string error;
    return error;
  }

  void SetUp() override {
    HubTest::SetUp();
    ASSERT_EQ(setup_error(), "");
    gevent::monkey::patch_all();
  }
};

// A slow_dns.py server on kServer:53 for as long as it lives.
class SlowDns {
 public:
  SlowDns() : child_({"python3", script(), kServer, "53", std::to_string(kAnswerDelay.count())}) {
    if (child_.read_line() != "ready") ADD_FAILURE() << "slow_dns.py did not start";
  }

 private:
  static std::string script() {
    return std::filesystem::path(__FILE__).parent_path().parent_path() / "support" / "slow_dns.py";
  }

  gevent::testing::ChildProcess child_;
};

// A lookup's outcome as text: its code and every address it found.
std::string describe(int rc, addrinfo* list) {
  std::string text = "rc=" + std::to_string(rc);
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    char host[NI_MAXHOST], port[NI_MAXSERV];
    ::getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, port, sizeof port,
                  NI_NUMERICHOST | NI_NUMERICSERV);
    text += " " + std::to_string(ai->ai_family) + "/" + std::to_string(ai->ai_socktype) + "/" +
            std::to_string(ai->ai_protocol) + ":" + host + ":" + port;
    if (ai->ai_canonname) text += " canon=" + std::string(ai->ai_canonname);
  }
  if (list) ::freeaddrinfo(list);
  return text;
}

std::string lookup(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), "80", &hints, &found);
  return describe(rc, found);
}

TEST_F(MonkeyDnsTest, FiftySlowLookupsAtOnceTakeAboutOne) {
  SlowDns dns;
  Heartbeat heartbeat;
  std::vector<gevent::Greenlet<std::string>> lookups;
  const auto start = Clock::now();
  for (int i = 0; i < kLookups; ++i)
    lookups.push_back(gevent::spawn(lookup, "host" + std::to_string(i) + ".slow.test"));
  for (int i = 0; i < kLookups; ++i)
    EXPECT_EQ(lookups[static_cast<std::size_t>(i)].get(),
              "rc=0 2/1/6:10.45.0." + std::to_string(i) + ":80");
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  std::printf("%d getaddrinfo answered after 300 ms each: %lld ms\n", kLookups,
              static_cast<long long>(took.count()));
  EXPECT_LT(took, kConcurrentBound);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

TEST_F(MonkeyDnsTest, AnswersAndErrorCodesAreTheOriginals) {
  SlowDns dns;
  using Getaddrinfo = int(const char*, const char*, const addrinfo*, addrinfo**);
  auto* original = gevent::monkey::get_original<Getaddrinfo>("getaddrinfo");
  ASSERT_NE(original, nullptr);
  std::vector<addrinfo> all_hints(4);
  all_hints[1].ai_family = AF_INET;
  all_hints[1].ai_socktype = SOCK_STREAM;
  all_hints[2].ai_flags = AI_CANONNAME;
  all_hints[3].ai_family = AF_INET6;
  for (const char* name : {"host7.slow.test", "missing.slow.test", "hosts-only.test", "localhost",
                           "127.0.0.1", "::1", "999.1.1.1"}) {
    for (const addrinfo& hints : all_hints) {
      addrinfo* hooked = nullptr;
      addrinfo* plain = nullptr;
      const int hooked_rc = ::getaddrinfo(name, "80", &hints, &hooked);
      const int plain_rc = original(name, "80", &hints, &plain);
      EXPECT_EQ(describe(hooked_rc, hooked), describe(plain_rc, plain))
          << name << " family " << hints.ai_family << " flags " << hints.ai_flags;
    }
  }
  EXPECT_EQ(lookup("hosts-only.test"), "rc=0 2/1/6:10.9.8.7:80") << "/etc/hosts was not read";
  EXPECT_EQ(lookup("missing.slow.test"), "rc=" + std::to_string(EAI_NONAME));
}

TEST_F(MonkeyDnsTest, GetnameinfoAnswersAsTheOriginal) {
  using Getnameinfo = int(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
  auto* original = gevent::monkey::get_original<Getnameinfo>("getnameinfo");
  ASSERT_NE(original, nullptr);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(80);
  for (const char* ip : {"10.9.8.7", "127.0.0.1"}) {
    ASSERT_EQ(::inet_pton(AF_INET, ip, &in.sin_addr), 1);
    for (int flags : {0, NI_NUMERICHOST, NI_NAMEREQD}) {
      char host[NI_MAXHOST] = "", plain_host[NI_MAXHOST] = "";
      char serv[NI_MAXSERV] = "", plain_serv[NI_MAXSERV] = "";
      const auto* sa = reinterpret_cast<const sockaddr*>(&in);
      const int rc = ::getnameinfo(sa, sizeof in, host, sizeof host, serv, sizeof serv, flags);
      const int plain_rc = original(sa, sizeof in, plain_host, sizeof plain_host, plain_serv,
                                    sizeof plain_serv, flags);
      EXPECT_EQ(rc, plain_rc) << ip << " flags " << flags;
      EXPECT_STREQ(host, plain_host) << ip << " flags " << flags;
      EXPECT_STREQ(serv, plain_serv) << ip << " flags " << flags;
    }
  }
}

// --- gethostbyname and its kin ---

// An entry as text: its name, type, aliases and addresses; or h_errno when there is none.
std::string describe(const hostent* entry, int h_error) {
  if (!entry) return "h_errno=" + std::to_string(h_error);
  std::string text = std::string(entry->h_name) + " type " + std::to_string(entry->h_addrtype);
  for (char** alias = entry->h_aliases; *alias; ++alias) text += " alias " + std::string(*alias);
  for (char** address = entry->h_addr_list; *address; ++address) {
    char ip[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(entry->h_addrtype, *address, ip, sizeof ip);
    text += " " + std::string(ip);
  }
  return text;
}

// What a call without _r gave: its entry, or its h_errno (read after the call).
template <class Call>
std::string outcome(Call call) {
  const hostent* entry = call();
  return describe(entry, h_errno);
}

template <class F>
F* original(const char* name) {
  auto* f = gevent::monkey::get_original<F>(name);
  EXPECT_NE(f, nullptr) << name;
  return f;
}

// gethostbyname_r(name) into a buffer of `size`, as text with its return value.
template <class Call>
std::string by_name_r(Call call, const char* name, std::size_t size) {
  hostent entry{};
  hostent* found = nullptr;
  int h_error = 0;
  std::vector<char> buffer(size);
  const int rc = call(name, &entry, buffer.data(), buffer.size(), &found, &h_error);
  return "rc=" + std::to_string(rc) + " " + describe(found, h_error);
}

const std::vector<const char*> kNames = {"host7.slow.test", "missing.slow.test", "hosts-only.test",
                                         "localhost", "127.0.0.1"};

TEST_F(MonkeyDnsTest, GethostbynameAndGethostbyname2AnswerAsTheOriginals) {
  SlowDns dns;
  auto* plain = original<hostent*(const char*)>("gethostbyname");
  auto* plain2 = original<hostent*(const char*, int)>("gethostbyname2");
  for (const char* name : kNames) {
    EXPECT_EQ(outcome([&] { return ::gethostbyname(name); }), outcome([&] { return plain(name); }))
        << name;
    for (int family : {AF_INET, AF_INET6})
      EXPECT_EQ(outcome([&] { return ::gethostbyname2(name, family); }),
                outcome([&] { return plain2(name, family); }))
          << name << " " << family;
  }
  EXPECT_EQ(outcome([] { return ::gethostbyname("hosts-only.test"); }),
            "hosts-only.test type 2 10.9.8.7");
  EXPECT_EQ(outcome([] { return ::gethostbyname("missing.slow.test"); }),
            "h_errno=" + std::to_string(HOST_NOT_FOUND));
}

TEST_F(MonkeyDnsTest, GethostbynameRAnswersAsTheOriginalEvenWithASmallBuffer) {
  SlowDns dns;
  using ByNameR = int(const char*, hostent*, char*, size_t, hostent**, int*);
  auto* plain = original<ByNameR>("gethostbyname_r");
  for (const char* name : kNames)
    for (std::size_t size : {std::size_t{4096}, std::size_t{16}})
      EXPECT_EQ(by_name_r(::gethostbyname_r, name, size), by_name_r(plain, name, size))
          << name << ", buffer " << size;
  EXPECT_EQ(by_name_r(::gethostbyname_r, "hosts-only.test", 16),
            "rc=" + std::to_string(ERANGE) + " h_errno=" + std::to_string(NETDB_INTERNAL));
}

TEST_F(MonkeyDnsTest, GethostbyaddrAndItsRFormAnswerAsTheOriginals) {
  SlowDns dns;
  auto* plain = original<hostent*(const void*, socklen_t, int)>("gethostbyaddr");
  using ByAddrR = int(const void*, socklen_t, int, hostent*, char*, size_t, hostent**, int*);
  auto* plain_r = original<ByAddrR>("gethostbyaddr_r");
  for (const char* ip : {"10.9.8.7", "127.0.0.1", "10.1.1.1"}) {
    in_addr address{};
    ASSERT_EQ(::inet_pton(AF_INET, ip, &address), 1);
    EXPECT_EQ(outcome([&] { return ::gethostbyaddr(&address, sizeof address, AF_INET); }),
              outcome([&] { return plain(&address, sizeof address, AF_INET); }))
        << ip;
    const auto by_addr_r = [&](auto call) {
      hostent entry{};
      hostent* found = nullptr;
      int h_error = 0;
      char buffer[1024];
      const int rc =
          call(&address, sizeof address, AF_INET, &entry, buffer, sizeof buffer, &found, &h_error);
      return "rc=" + std::to_string(rc) + " " + describe(found, h_error);
    };
    EXPECT_EQ(by_addr_r(::gethostbyaddr_r), by_addr_r(plain_r)) << ip;
  }
}

TEST_F(MonkeyDnsTest, TwentyGethostbynameRAtOnceTakeAboutOne) {
  SlowDns dns;
  Heartbeat heartbeat;
  std::vector<gevent::Greenlet<std::string>> lookups;
  const auto start = Clock::now();
  for (int i = 0; i < 20; ++i)
    lookups.push_back(gevent::spawn([i] {
      const std::string name = "host" + std::to_string(i) + ".slow.test";
      return by_name_r(::gethostbyname_r, name.c_str(), 1024);
    }));
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(lookups[static_cast<std::size_t>(i)].get(),
              "rc=0 host" + std::to_string(i) + ".slow.test type 2 10.45.0." + std::to_string(i));
  EXPECT_LT(Clock::now() - start, kConcurrentBound);
  EXPECT_LT(heartbeat.stop(), kMaxHeartbeatGap);
}

}  // namespace
