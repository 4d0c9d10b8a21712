// gevent::Timeout and with_timeout / try_with_timeout.
#include <gevent/gevent.hpp>

#include <limits>
#include <stdexcept>
#include <string>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class TimeoutTest : public HubTest {};
using Clock = std::chrono::steady_clock;

TEST_F(TimeoutTest, ExpiryIsThrownAtTheSwitchPointAndIdentifiesItsTimeout) {
  const auto t0 = Clock::now();
  gevent::Timeout* mine = nullptr;
  try {
    gevent::Timeout timeout{20ms};
    mine = &timeout;
    gevent::sleep(10s);
    FAIL() << "the sleep should have been interrupted";
  } catch (const gevent::Timeout& expired) {
    const auto took = Clock::now() - t0;
    EXPECT_GE(took, 20ms);
    EXPECT_LT(took, 500ms);
    EXPECT_NE(std::string(expired.what()).find("0.02 seconds"), std::string::npos)
        << expired.what();
    EXPECT_TRUE(mine != nullptr);
  }
}

// gevent's Timeout(seconds, exception): the expiry throws the chosen exception.
TEST_F(TimeoutTest, ExpiryThrowsTheExceptionItWasGiven) {
  struct TooSlow : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  try {
    gevent::Timeout limit{10ms, TooSlow("the fetch took too long")};
    EXPECT_TRUE(limit.pending());
    gevent::sleep(10s);
    FAIL() << "the sleep should have been interrupted";
  } catch (const TooSlow& e) {
    EXPECT_STREQ(e.what(), "the fetch took too long");
  }
  gevent::Timeout unstarted{5ms, std::make_exception_ptr(TooSlow("x")), false};
  EXPECT_FALSE(unstarted.pending());
  gevent::sleep(20ms);  // never started: nothing fires
  unstarted.start();
  EXPECT_THROW(gevent::sleep(1s), TooSlow);
}

TEST_F(TimeoutTest, LeavingTheScopeCancelsIt) {
  {
    gevent::Timeout timeout{10ms};
    EXPECT_TRUE(timeout.pending());
  }
  gevent::sleep(30ms);  // would throw if the timer were still armed
}

TEST_F(TimeoutTest, ExpiryInAGreenletKillsOnlyThatWait) {
  auto g = gevent::spawn([] {
    try {
      gevent::Timeout timeout{5ms};
      gevent::sleep(1s);
      return std::string("slept");
    } catch (const gevent::Timeout&) {
      return std::string("timed out");
    }
  });
  EXPECT_EQ(g.get(), "timed out");
}

TEST_F(TimeoutTest, NestedTimeoutsTellWhoseExpiryItIs) {
  gevent::Timeout outer{10ms};
  bool inner_caught_outer = false;
  try {
    gevent::Timeout inner{1s};
    try {
      gevent::sleep(5s);
    } catch (const gevent::Timeout& expired) {
      inner_caught_outer = expired.is(outer) && !expired.is(inner);
      throw;
    }
  } catch (const gevent::Timeout& expired) {
    EXPECT_TRUE(expired.is(outer));
  }
  EXPECT_TRUE(inner_caught_outer);
}

TEST_F(TimeoutTest, DisengagedTimeoutNeverFires) {
  gevent::Timeout none;
  gevent::Timeout also_none{std::nullopt};
  EXPECT_FALSE(none.pending());
  EXPECT_FALSE(also_none.seconds().has_value());
  gevent::sleep(5ms);
}

TEST_F(TimeoutTest, StartAndCancelByHand) {
  gevent::Timeout timeout{5ms, /*start=*/false};
  EXPECT_FALSE(timeout.pending());
  gevent::sleep(10ms);
  timeout.start();
  EXPECT_TRUE(timeout.pending());
  timeout.cancel();
  EXPECT_FALSE(timeout.pending());
  gevent::sleep(10ms);
  timeout.start();
  EXPECT_THROW(gevent::sleep(1s), gevent::Timeout);
}

TEST_F(TimeoutTest, ZeroOrNegativeTimeoutFiresAtTheFirstSwitch) {
  gevent::Timeout timeout{-1s};
  EXPECT_THROW(gevent::sleep(1s), gevent::Timeout);
}

TEST_F(TimeoutTest, NanIsRejected) {
  EXPECT_THROW(gevent::Timeout(std::chrono::duration<double>(std::nan(""))), std::invalid_argument);
}

TEST_F(TimeoutTest, AGreenletThatNeverSwitchesCannotBeInterrupted) {
  bool finished = false;
  try {
    gevent::Timeout timeout{1ms};
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < 10ms) {
    }
    finished = true;
  } catch (const gevent::Timeout&) {
  }
  EXPECT_TRUE(finished);
}

TEST_F(TimeoutTest, WithTimeoutReturnsTheValueOrThrows) {
  EXPECT_EQ(gevent::with_timeout(
                100ms, [](int x) { return x * 2; }, 21),
            42);
  EXPECT_THROW(gevent::with_timeout(5ms, [] { gevent::sleep(1s); }), gevent::Timeout);
}

TEST_F(TimeoutTest, TryWithTimeoutSwallowsOnlyItsOwnExpiry) {
  EXPECT_EQ(gevent::try_with_timeout(100ms, [] { return 7; }), std::optional<int>(7));
  EXPECT_EQ(gevent::try_with_timeout(5ms,
                                     [] {
                                       gevent::sleep(1s);
                                       return 7;
                                     }),
            std::nullopt);
  EXPECT_FALSE(gevent::try_with_timeout(5ms, [] { gevent::sleep(1s); }));
  EXPECT_TRUE(gevent::try_with_timeout(1s, [] { gevent::sleep(1ms); }));
  gevent::Timeout outer{5ms};
  EXPECT_THROW(gevent::try_with_timeout(1s, [] { gevent::sleep(1s); }), gevent::Timeout);
}

TEST_F(TimeoutTest, StartingATimeoutInTheHubIsAClearError) {
  bool refused = false;
  gevent::get_hub().run_callback([&] {
    try {
      gevent::Timeout timeout{1s};
    } catch (const gevent::BlockingSwitchOutError&) {
      refused = true;
    }
  });
  gevent::sleep();
  EXPECT_TRUE(refused);
}

}  // namespace

namespace {

class TimeoutRegressionTest : public HubTest {};

TEST_F(TimeoutRegressionTest, AKillArrivingTogetherWithATimeoutIsNotLost) {
  // The greenlet's Timeout and the killer's wake-up fall due in the same hub pass.
  auto victim = gevent::spawn([] {
    for (;;) gevent::try_with_timeout(10ms, [] { gevent::sleep(1s); });
  });
  auto killer = gevent::spawn([&] {
    gevent::sleep(10ms);
    victim.kill();
  });
  killer.join(1s);
  EXPECT_TRUE(victim.join(1s)) << "the kill was lost";
}

TEST_F(TimeoutRegressionTest, NestedTimeoutsDueTogetherBothFire) {
  bool outer_fired = false;
  try {
    gevent::Timeout outer{5ms};
    try {
      gevent::Timeout inner{5ms};
      gevent::sleep(1s);
    } catch (const gevent::Timeout&) {
    }
    gevent::sleep(1s);  // the outer limit must still hold here
  } catch (const gevent::Timeout&) {
    outer_fired = true;
  }
  EXPECT_TRUE(outer_fired);
}

TEST_F(TimeoutRegressionTest, ATimeoutOutlivingTheGreenletThatStartedItIsHarmless) {
  gevent::Timeout timeout{5ms, false};
  gevent::spawn([&] { timeout.start(); }).join();
  gevent::sleep(20ms);  // fires for a dead greenlet: ignored
}

TEST_F(TimeoutRegressionTest, CatchingStdExceptionDoesNotSwallowKillOrTimeout) {
  auto g = gevent::spawn([] {
    for (;;) {
      try {
        gevent::sleep(1s);
      } catch (const std::exception&) {
        // ordinary error handling must not catch a kill
      }
    }
  });
  gevent::sleep();
  g.kill();
  EXPECT_TRUE(g.dead());
  bool timed_out = false;
  try {
    gevent::Timeout limit{1ms};
    try {
      gevent::sleep(1s);
    } catch (const std::exception&) {
    }
  } catch (const gevent::Timeout&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
}

}  // namespace
