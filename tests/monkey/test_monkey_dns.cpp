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

}  // namespace
