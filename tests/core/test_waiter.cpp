// detail::Waiter's wait that does not throw: how it ends, and that a kill or Timeout it
// reports stays pending for the next switch point.
#include <gevent/gevent.hpp>

#include <vector>

#include "gevent/detail/waiter.hpp"
#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::detail::Waiter;
using gevent::detail::WaitResult;
using gevent::testing::HubTest;

namespace {

class WaiterTest : public HubTest {};

TEST_F(WaiterTest, NothrowWaitEndsWokenOrTimedOut) {
  Waiter woken;
  auto waker = gevent::spawn([&] { woken.wake(); });
  EXPECT_EQ(woken.wait_nothrow(1s), WaitResult::woken);

  Waiter never;
  EXPECT_EQ(never.wait_nothrow(5ms), WaitResult::timed_out);
  EXPECT_FALSE(never.woken());
}

TEST_F(WaiterTest, AKillEndsANothrowWaitAndIsThrownAtTheNextSwitchPoint) {
  std::vector<const char*> log;
  auto g = gevent::spawn([&] {
    Waiter waiter;
    const WaitResult result = waiter.wait_nothrow();  // nothing else would ever wake it
    log.push_back(result == WaitResult::interrupted ? "interrupted" : "other");
    log.push_back("ran on");  // the kill did not unwind this frame
    gevent::sleep(10s);       // the next switch point throws the kill
    log.push_back("slept");
  });
  gevent::sleep(1ms);
  g.kill();
  EXPECT_TRUE(g.dead());
  EXPECT_EQ(log, (std::vector<const char*>{"interrupted", "ran on"}));
  EXPECT_THROW(g.get(), gevent::GreenletExit);
}

TEST_F(WaiterTest, ATimeoutEndsANothrowWaitAndStaysPendingUntilThrown) {
  gevent::Timeout timeout{5ms};
  Waiter waiter;
  EXPECT_EQ(waiter.wait_nothrow(10s), WaitResult::interrupted);
  EXPECT_FALSE(waiter.woken());
  try {
    gevent::get_hub().throw_pending();
    ADD_FAILURE() << "the Timeout was not pending";
  } catch (const gevent::Timeout& fired) {
    EXPECT_TRUE(fired.is(timeout));
  }
  gevent::get_hub().throw_pending();  // nothing left
}

TEST_F(WaiterTest, ANothrowWaitWithAKillAlreadyDueReturnsWithoutSwitching) {
  bool other_ran = false;
  auto g = gevent::spawn([&] {
    Waiter first;
    ASSERT_EQ(first.wait_nothrow(), WaitResult::interrupted);
    auto other = gevent::spawn([&] { other_ran = true; });
    Waiter second;
    EXPECT_EQ(second.wait_nothrow(10s), WaitResult::interrupted);
    EXPECT_FALSE(other_ran);  // it did not switch out, or `other` would have run
    other.kill();
    gevent::get_hub().throw_pending();
    ADD_FAILURE() << "the kill was not thrown";
  });
  gevent::sleep(1ms);
  g.kill();
  EXPECT_TRUE(g.dead());
  EXPECT_THROW(g.get(), gevent::GreenletExit);
  EXPECT_FALSE(other_ran);
}

}  // namespace
