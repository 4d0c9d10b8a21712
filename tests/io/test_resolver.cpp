// gevent's resolvers (thread, ares, block) against real peers: /etc/hosts and numeric input
// for all three; for ares, dnsmasq on 127.0.0.1 (tests/support/dnsmasq.hpp), and a bound UDP
// socket that never answers. glibc cannot be pointed at another server, so thread and block
// are never asked for a name that /etc/hosts does not have.
#include <gevent/gevent.hpp>
#include <gevent/resolver.hpp>
#include <gevent/threadpool.hpp>

#include <netdb.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/dnsmasq.hpp"
#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

constexpr auto kSlack = 2s;  // allowance for a loaded machine on top of any expected time

gevent::testing::Dnsmasq& dns() {
  static gevent::testing::Dnsmasq server({
      "--local=/test/",  // names under .test the server does not list: NXDOMAIN
      "--local=/10.in-addr.arpa/",
      "--host-record=www.example.test,10.1.2.3",  // also the PTR record 3.2.1.10.in-addr.arpa
      "--host-record=dual.example.test,10.1.2.4,fd00::4",
      "--cname=alias.example.test,www.example.test",
  });
  return server;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::vector<std::string> addresses_of(const std::vector<gevent::AddrInfo>& found) {
  std::vector<std::string> out;
  for (const auto& info : found) out.push_back(info.address.to_string());
  return out;
}

// The first name in /etc/hosts, other than localhost, that has an IPv4 address there.
std::optional<std::pair<std::string, std::string>> another_hosts_file_name() {
  std::ifstream hosts("/etc/hosts");
  std::string line;
  while (std::getline(hosts, line)) {
    std::istringstream fields(line.substr(0, line.find('#')));
    std::string ip, name;
    in_addr ipv4{};
    if (!(fields >> ip) || ::inet_pton(AF_INET, ip.c_str(), &ipv4) != 1) continue;
    while (fields >> name)
      if (name != "localhost") return std::pair{name, ip};
  }
  return std::nullopt;
}

// Settings for one test; the hub's resolver is made from them at its first lookup, and the
// hub (with its resolver) goes at the end of each test.
class ResolverTest : public HubTest {
 protected:
  void use(const std::string& kind, const std::string& ares_servers) {
    gevent::config().resolver = kind;
    gevent::config().ares_servers = ares_servers;
    gevent::config().ares_timeout = 300ms;
    gevent::config().ares_tries = 2;
  }
  void TearDown() override {
    HubTest::TearDown();
    gevent::config() = saved_;
  }

 private:
  gevent::Config saved_ = gevent::config();
};

class EveryResolver : public ResolverTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    ResolverTest::SetUp();
    use(GetParam(), dns().server());
  }
  bool is(const char* kind) const { return GetParam() == kind; }
};

INSTANTIATE_TEST_SUITE_P(Kinds, EveryResolver, ::testing::Values("thread", "ares", "block"),
                         [](const auto& info) { return info.param; });

TEST_P(EveryResolver, TheKindComesFromTheConfig) {
  EXPECT_EQ(gevent::get_resolver().kind(), GetParam());
  EXPECT_EQ(&gevent::get_resolver(), &gevent::get_resolver());
}

TEST_P(EveryResolver, NumericHostsResolveToThemselves) {
  const auto v4 = gevent::getaddrinfo("127.0.0.1", "80", {.socktype = SOCK_STREAM});
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0].family, AF_INET);
  EXPECT_EQ(v4[0].address.to_string(), "127.0.0.1:80");
  const auto v6 = gevent::getaddrinfo("::1", "443", {.socktype = SOCK_STREAM});
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0].address.to_string(), "[::1]:443");
  EXPECT_EQ(gevent::gethostbyname("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(gevent::gethostbyname_ex("10.1.2.3").addresses, std::vector<std::string>{"10.1.2.3"});
  // No host: loopback, or with AI_PASSIVE the wildcard address.
  EXPECT_EQ(
      addresses_of(gevent::getaddrinfo("", "8080", {.family = AF_INET, .socktype = SOCK_STREAM})),
      std::vector<std::string>{"127.0.0.1:8080"});
  EXPECT_EQ(addresses_of(gevent::getaddrinfo(
                "", "8080", {.family = AF_INET, .socktype = SOCK_STREAM, .flags = AI_PASSIVE})),
            std::vector<std::string>{"0.0.0.0:8080"});
}

TEST_P(EveryResolver, HostsFileNamesResolve) {
  // Under ares this proves /etc/hosts is read: dnsmasq (--no-hosts) refuses "localhost".
  const auto found =
      gevent::getaddrinfo("localhost", "http", {.family = AF_INET, .socktype = SOCK_STREAM});
  EXPECT_TRUE(contains(addresses_of(found), "127.0.0.1:80"))
      << testing::PrintToString(addresses_of(found));
  EXPECT_EQ(gevent::gethostbyname("localhost"), "127.0.0.1");
  const auto entry = gevent::gethostbyname_ex("localhost");
  EXPECT_EQ(entry.name, "localhost");
  EXPECT_TRUE(contains(entry.addresses, "127.0.0.1"));
  if (const auto other = another_hosts_file_name()) {
    EXPECT_TRUE(contains(gevent::gethostbyname_ex(other->first).addresses, other->second))
        << other->first;
  }
}

TEST_P(EveryResolver, UnknownNamesAreEaiNoname) {
  // AI_NUMERICHOST: a name is unknown without asking any server, for every kind.
  std::error_code ec;
  const auto found = gevent::getaddrinfo("not-a-number", "80", {.flags = AI_NUMERICHOST}, ec);
  EXPECT_TRUE(found.empty());
  EXPECT_EQ(ec, std::error_code(EAI_NONAME, gevent::gai_category()));
  try {
    gevent::getaddrinfo("not-a-number", "80", {.flags = AI_NUMERICHOST});
    FAIL() << "no exception";
  } catch (const gevent::gaierror& e) {
    EXPECT_EQ(e.code(), std::error_code(EAI_NONAME, gevent::gai_category()));
    EXPECT_NE(std::string(e.what()).find("'not-a-number'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::string(gevent::gai_category().name()), "getaddrinfo");
}

TEST_P(EveryResolver, BadInputIsReportedNotResolved) {
  std::error_code ec;
  gevent::getaddrinfo("localhost", "80", {.flags = 0x40000000}, ec);
  EXPECT_EQ(ec, std::error_code(EAI_BADFLAGS, gevent::gai_category()));
  gevent::getnameinfo(gevent::address::unix_path("/tmp/x.sock"), 0, ec);
  EXPECT_EQ(ec, std::error_code(EAI_FAMILY, gevent::gai_category()));
  EXPECT_THROW(gevent::getnameinfo(gevent::address(), 0), gevent::gaierror);
}

TEST_P(EveryResolver, ReverseLookupOfLoopbackFindsTheHostsFileName) {
  const auto entry = gevent::gethostbyaddr("127.0.0.1");
  EXPECT_EQ(entry.name, "localhost");
  EXPECT_TRUE(contains(entry.addresses, "127.0.0.1"));
  std::error_code ec;
  EXPECT_EQ(gevent::gethostbyaddr("localhost", ec).name, "localhost");  // a name: resolved first
  EXPECT_FALSE(ec) << ec.message();
}

TEST_P(EveryResolver, GetnameinfoGivesHostAndService) {
  const auto loopback = gevent::address::ip("127.0.0.1", 80);
  const auto named = gevent::getnameinfo(loopback, 0);
  EXPECT_EQ(named.host, "localhost");
  EXPECT_EQ(named.service, "http");
  const auto numeric = gevent::getnameinfo(loopback, NI_NUMERICHOST | NI_NUMERICSERV);
  EXPECT_EQ(numeric.host, "127.0.0.1");
  EXPECT_EQ(numeric.service, "80");
  std::error_code ec;
  EXPECT_EQ(gevent::getnameinfo(gevent::address::ip("127.0.0.1", 53), NI_DGRAM, ec).service,
            "domain");
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(gevent::getnameinfo(gevent::address::ip("::1", 22), NI_NUMERICHOST).host, "::1");
}

TEST_P(EveryResolver, ALookupThatMustWaitCannotRunInTheHub) {
  std::optional<bool> refused;
  gevent::get_hub().run_callback([&] {
    try {
      refused = gevent::gethostbyname("localhost") != "127.0.0.1";
    } catch (const gevent::BlockingSwitchOutError&) {
      refused = true;
    }
  });
  gevent::sleep(1ms);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, !is("block"));  // block answers: it never waits, it blocks
}

// Many lookups at once while a ticker greenlet yields in a loop: a lookup that lets the hub
// run sees the ticker advance while it waits; a blocking one never does.
TEST_P(EveryResolver, LookupsLetOtherGreenletsRunUnlessBlocking) {
  const std::string name = is("ares") ? "www.example.test" : "localhost";
  const std::string expected = is("ares") ? "10.1.2.3" : "127.0.0.1";
  long ticks = 0;
  bool stop = false;
  auto ticker = gevent::spawn([&] {
    while (!stop) ++ticks, gevent::sleep();
  });
  constexpr int kGreenlets = 40, kEach = 3;
  int answered = 0, ticked_meanwhile = 0;
  std::vector<gevent::Greenlet<void>> lookups;
  for (int i = 0; i < kGreenlets; ++i)
    lookups.push_back(gevent::spawn([&] {
      for (int j = 0; j < kEach; ++j) {
        const long before = ticks;
        answered += gevent::gethostbyname(name) == expected;
        ticked_meanwhile += ticks != before;
      }
    }));
  gevent::joinall(lookups);
  stop = true;
  ticker.join();
  EXPECT_EQ(answered, kGreenlets * kEach);
  EXPECT_EQ(ticked_meanwhile, is("block") ? 0 : kGreenlets * kEach);
}

// --- ares against dnsmasq ---

class AresTest : public ResolverTest {
 protected:
  void SetUp() override {
    ResolverTest::SetUp();
    use("ares", dns().server());
  }
};

TEST_F(AresTest, NamesTheServerKnows) {
  EXPECT_EQ(addresses_of(gevent::getaddrinfo("www.example.test", "80",
                                             {.family = AF_INET, .socktype = SOCK_STREAM})),
            std::vector<std::string>{"10.1.2.3:80"});
  auto both =
      addresses_of(gevent::getaddrinfo("dual.example.test", "443", {.socktype = SOCK_STREAM}));
  std::sort(both.begin(), both.end());
  EXPECT_EQ(both, (std::vector<std::string>{"10.1.2.4:443", "[fd00::4]:443"}));
  EXPECT_EQ(gevent::gethostbyname("www.example.test"), "10.1.2.3");
  const auto canonical =
      gevent::getaddrinfo("alias.example.test", "", {.family = AF_INET, .flags = AI_CANONNAME});
  ASSERT_FALSE(canonical.empty());
  EXPECT_EQ(canonical[0].canonname, "www.example.test");
  const auto entry = gevent::gethostbyname_ex("alias.example.test");
  EXPECT_EQ(entry.name, "www.example.test");
  EXPECT_TRUE(contains(entry.aliases, "alias.example.test"));
  EXPECT_EQ(entry.addresses, std::vector<std::string>{"10.1.2.3"});
}

TEST_F(AresTest, NxdomainIsEaiNoname) {
  const std::error_code noname(EAI_NONAME, gevent::gai_category());
  std::error_code ec;
  EXPECT_TRUE(gevent::getaddrinfo("nothing.example.test", "80", {}, ec).empty());
  EXPECT_EQ(ec, noname);
  gevent::gethostbyname("nothing.example.test", ec);
  EXPECT_EQ(ec, noname);
  gevent::gethostbyname_ex("nothing.example.test", ec);
  EXPECT_EQ(ec, noname);
  gevent::gethostbyaddr("10.9.9.9", ec);
  EXPECT_EQ(ec, noname);
  gevent::getnameinfo(gevent::address::ip("10.9.9.9", 80), NI_NAMEREQD, ec);
  EXPECT_EQ(ec, noname);
  EXPECT_THROW(gevent::gethostbyaddr("10.9.9.9"), gevent::gaierror);
}

TEST_F(AresTest, ReverseLookupsAskTheServer) {
  const auto entry = gevent::gethostbyaddr("10.1.2.3");
  EXPECT_EQ(entry.name, "www.example.test");
  EXPECT_EQ(entry.addresses, std::vector<std::string>{"10.1.2.3"});
  const auto named = gevent::getnameinfo(gevent::address::ip("10.1.2.3", 443), 0);
  EXPECT_EQ(named.host, "www.example.test");
  EXPECT_EQ(named.service, "https");
  // Without NI_NAMEREQD an address without a name comes back numeric.
  EXPECT_EQ(gevent::getnameinfo(gevent::address::ip("10.9.9.9", 80), 0).host, "10.9.9.9");
}

TEST_F(AresTest, AnUnresponsiveServerIsATimeoutWithinTheConfiguredLimit) {
  gevent::testing::SilentUdpServer silent;
  use("ares", silent.server());  // 300 ms a try, 2 tries: 900 ms at most (the second waits 2x)
  std::error_code ec;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(gevent::getaddrinfo("www.example.test", "80", {}, ec).empty());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(ec, std::error_code(EAI_AGAIN, gevent::gai_category())) << ec.message();
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 900ms + kSlack);
  EXPECT_TRUE(silent.received_something());
  EXPECT_THROW(gevent::gethostbyname("www.example.test"), gevent::gaierror);
}

TEST_F(AresTest, AnEnclosingTimeoutInterruptsALookupAndCancelsIt) {
  gevent::testing::SilentUdpServer silent;
  use("ares", silent.server());
  gevent::config().ares_timeout = 10s;
  const auto start = std::chrono::steady_clock::now();
  for (bool error_code_form : {false, true}) {
    gevent::Timeout limit(30ms);
    try {
      std::error_code ec;
      if (error_code_form)
        gevent::getaddrinfo("www.example.test", "80", {}, ec);
      else
        gevent::gethostbyaddr("10.1.2.3");
      FAIL() << "the lookup was not interrupted";
    } catch (const gevent::Timeout& t) {
      EXPECT_TRUE(t.is(limit));
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, kSlack);
  // No greenlet waits any more: the abandoned queries are cancelled, their sockets unwatched
  // (after a short sleep, which lets the hub's own wake-up timer, armed for c-ares's retry, go).
  gevent::sleep(1ms);
  EXPECT_EQ(gevent::get_hub().loop().active_watchers(), 1);
  EXPECT_EQ(gevent::get_hub().pending_timers(), 0u);
}

TEST_F(AresTest, OneGreenletGivingUpLeavesTheOthersLookupsAlone) {
  gevent::testing::SilentUdpServer silent;
  use("ares", silent.server());
  auto patient = gevent::spawn([] {
    std::error_code ec;
    gevent::gethostbyname("www.example.test", ec);
    return ec;
  });
  auto impatient = gevent::spawn([] {
    return gevent::try_with_timeout(20ms, [] { return gevent::gethostbyname("www.example.test"); });
  });
  EXPECT_FALSE(impatient.get().has_value());                                     // timed out
  EXPECT_EQ(patient.get(), std::error_code(EAI_AGAIN, gevent::gai_category()));  // not cancelled
}

TEST_F(AresTest, TheChannelGoesWithItsHubEvenWithALookupPending) {
  gevent::testing::SilentUdpServer silent;
  use("ares", silent.server());
  gevent::config().ares_timeout = 10s;
  bool unwound = false;
  std::thread([&] {
    gevent::spawn([&] {
      struct Flag {
        bool& set;
        ~Flag() { set = true; }
      } flag{unwound};
      gevent::gethostbyname("www.example.test");
    });
    gevent::sleep(20ms);
  }).join();  // the thread's hub goes: the waiting greenlet is killed, the channel destroyed
  EXPECT_TRUE(unwound);
  EXPECT_TRUE(silent.received_something());
}

TEST_F(AresTest, MalformedServersAreAClearError) {
  use("ares", "not a server");
  try {
    std::error_code ec;
    gevent::getaddrinfo("www.example.test", "80", {}, ec);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("GEVENTARES_SERVERS"), std::string::npos) << e.what();
  }
}

// --- thread and block ---

class ThreadResolverTest : public ResolverTest {
 protected:
  void SetUp() override {
    ResolverTest::SetUp();
    use("thread", "");
  }
};

// A Timeout ends the wait, not the pool job: its answer arrives after the greenlet that asked
// is gone, and must be dropped without touching that greenlet's stack. Every thread of the
// resolver's pool is kept busy first, so that the lookup waits.
TEST_F(ThreadResolverTest, TheAnswerOfAnAbandonedLookupIsDroppedSafely) {
  gevent::ThreadPool& pool = gevent::detail::resolver_threadpool(gevent::get_hub());
  std::atomic<bool> release{false};
  for (std::size_t i = 0; i < pool.size(); ++i)
    pool.spawn([&release] {
      while (!release) std::this_thread::sleep_for(1ms);
    });
  auto asker = gevent::spawn([] {
    std::vector<char> stack_data(4096, 'x');  // something on this greenlet's stack
    std::error_code ec;
    return gevent::try_with_timeout(20ms,
                                    [&] { return gevent::getaddrinfo("localhost", "80", {}, ec); });
  });
  EXPECT_FALSE(asker.get().has_value());  // timed out, while the lookup waited for a thread
  EXPECT_GT(pool.pending(), pool.size());
  gevent::spawn([] { std::vector<char> reuse(8192, 'y'); }).join();  // reuse the stack
  release = true;
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (pool.pending() > 0 && std::chrono::steady_clock::now() < give_up) gevent::sleep(1ms);
  EXPECT_EQ(pool.pending(), 0u);
  EXPECT_EQ(gevent::gethostbyname("localhost"), "127.0.0.1");  // the resolver still works
}

// Lookups have a pool of their own: a hub pool busy with the program's jobs does not hold them.
TEST_F(ThreadResolverTest, ABusyHubPoolDoesNotHoldLookups) {
  gevent::ThreadPool& pool = gevent::get_hub().threadpool();
  std::atomic<bool> release{false};
  for (std::size_t i = 0; i < pool.size(); ++i)
    pool.spawn([&release] {
      while (!release) std::this_thread::sleep_for(1ms);
    });
  EXPECT_EQ(gevent::try_with_timeout(5s, [] { return gevent::gethostbyname("localhost"); }),
            "127.0.0.1");
  release = true;
  while (pool.pending() > 0) gevent::sleep(1ms);
}

TEST_F(ResolverTest, BlockNeverSwitchesSoATimeoutCannotInterruptIt) {
  use("block", "");
  gevent::Timeout limit(1ms);
  std::this_thread::sleep_for(5ms);  // the limit has passed; it fires at the next wait
  EXPECT_EQ(gevent::gethostbyname("localhost"), "127.0.0.1");
  EXPECT_THROW(gevent::sleep(1s), gevent::Timeout);
}

TEST_F(ResolverTest, AnUnknownKindIsAClearError) {
  use("dnspython", "");
  try {
    gevent::get_resolver();
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("thread, ares or block"), std::string::npos) << e.what();
  }
}

TEST(ResolverConfigDeathTest, TheEnvironmentChoosesAndBadValuesNameTheChoices) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("GEVENT_RESOLVER", "ares", 1);
        ::setenv("GEVENTARES_SERVERS", "127.0.0.1:5353", 1);
        ::setenv("GEVENTARES_TIMEOUT", "0.25", 1);
        ::setenv("GEVENTARES_TRIES", "3", 1);
        const auto& c = gevent::config();
        std::exit(c.resolver == "ares" && c.ares_servers == "127.0.0.1:5353" &&
                          c.ares_timeout.value() == 250ms && c.ares_tries == 3
                      ? 0
                      : 1);
      },
      ::testing::ExitedWithCode(0), "");
  gevent::testing::expect_config_rejects(
      "GEVENT_RESOLVER", "dnspython",
      "GEVENT_RESOLVER='dnspython': expected thread, ares or block");
}

}  // namespace
