// Semaphore, BoundedSemaphore, DummySemaphore, Lock, RLock.
#include <gevent/gevent.hpp>
#include <gevent/lock.hpp>

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class LockTest : public HubTest {};

TEST_F(LockTest, SemaphoreLimitsConcurrency) {
  gevent::Semaphore slots{3};
  int inside = 0, most = 0;
  std::vector<gevent::Greenlet<void>> all;
  for (int i = 0; i < 20; ++i)
    all.push_back(gevent::spawn([&] {
      std::lock_guard hold{slots};
      most = std::max(most, ++inside);
      gevent::sleep(1ms);
      --inside;
    }));
  gevent::joinall(all);
  EXPECT_EQ(most, 3);
  EXPECT_EQ(slots.counter(), 3u);
}

TEST_F(LockTest, WaitersAreServedInFifoOrder) {
  gevent::Semaphore sem{0};
  std::vector<int> order;
  std::vector<gevent::Greenlet<void>> all;
  for (int i = 0; i < 5; ++i)
    all.push_back(gevent::spawn([&, i] {
      sem.acquire();
      order.push_back(i);
    }));
  gevent::sleep();
  for (int i = 0; i < 5; ++i) sem.release();
  gevent::joinall(all);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(LockTest, NonBlockingAndTimedAcquire) {
  gevent::Semaphore sem{1};
  EXPECT_TRUE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_TRUE(sem.locked());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(sem.acquire(true, 15ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 15ms);
  sem.release();
  EXPECT_TRUE(sem.acquire(true, 15ms));
  sem.release();
}

TEST_F(LockTest, AWaiterKilledAfterItWasWokenPassesThePermitOn) {
  gevent::Semaphore sem{0};
  auto doomed = gevent::spawn([&] { sem.acquire(); });
  auto next = gevent::spawn([&] { return sem.acquire(true, 1s); });
  gevent::sleep();
  sem.release();  // wakes `doomed` first...
  doomed.kill();  // ...which dies before it can take the permit
  EXPECT_TRUE(next.get());
  EXPECT_EQ(sem.counter(), 0u);
}

TEST_F(LockTest, AWokenWaiterOwnsThePermitBeforeItRuns) {
  gevent::Lock lock;
  lock.acquire();
  std::vector<std::string> order;
  auto waiter = gevent::spawn([&] {
    std::lock_guard hold{lock};
    order.push_back("waiter");
  });
  gevent::sleep();
  lock.release();  // wakes `waiter`, which has not run yet
  EXPECT_FALSE(lock.try_lock());
  {
    std::lock_guard hold{lock};  // waits behind `waiter`
    order.push_back("main");
  }
  EXPECT_EQ(order, (std::vector<std::string>{"waiter", "main"}));
  EXPECT_TRUE(waiter.join(1s));
}

TEST_F(LockTest, WaitReturnsOnlyWhenAcquireWouldNotWait) {
  gevent::Semaphore sem{0};
  auto waiter = gevent::spawn([&] { sem.acquire(); });
  gevent::sleep();
  sem.release();  // the permit is the woken waiter's
  EXPECT_TRUE(gevent::wait({&sem}, 30ms).empty());
  waiter.join();
  sem.release();
  EXPECT_EQ(sem.wait(1s), 1u);
  EXPECT_TRUE(sem.acquire(false));
}

TEST_F(LockTest, AWaiterKilledWhileWaitingReleasesNothingItDidNotAcquire) {
  gevent::BoundedSemaphore sem{1};
  sem.acquire();
  auto waiter = gevent::spawn([&] {
    std::lock_guard hold{sem};
    ADD_FAILURE() << "must not get the semaphore";
  });
  gevent::sleep();
  waiter.kill();
  EXPECT_EQ(sem.counter(), 0u) << "the killed waiter released a permit it never had";
  sem.release();
  EXPECT_EQ(sem.counter(), 1u);
}

TEST_F(LockTest, ATimeoutWhileWaitingLosesNoPermit) {
  gevent::Semaphore sem{0};
  auto timed = gevent::spawn([&] { return gevent::try_with_timeout(5ms, [&] { sem.acquire(); }); });
  auto patient = gevent::spawn([&] { return sem.acquire(true, 1s); });
  EXPECT_FALSE(timed.get());
  sem.release();
  EXPECT_TRUE(patient.get());
}

TEST_F(LockTest, BoundedSemaphoreRefusesAnExtraRelease) {
  gevent::BoundedSemaphore sem{2};
  EXPECT_THROW(sem.release(), std::logic_error);
  sem.acquire();
  sem.release();
  EXPECT_THROW(sem.release(), std::logic_error);
}

TEST_F(LockTest, SemaphoreWaitWaitsWithoutTaking) {
  gevent::Semaphore sem{0};
  gevent::spawn_later(5ms, [&] { sem.release(); });
  EXPECT_EQ(sem.wait(1s), 1u);
  EXPECT_EQ(sem.counter(), 1u);
  std::vector<gevent::Semaphore*> sems{&sem};
  EXPECT_EQ(gevent::wait(sems, 1s).size(), 1u);
}

TEST_F(LockTest, DummySemaphoreNeverBlocks) {
  gevent::DummySemaphore dummy;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(dummy.acquire());
  std::lock_guard hold{dummy};
  EXPECT_FALSE(dummy.locked());
}

TEST_F(LockTest, LockExcludesAndRefusesAnUnlockedRelease) {
  gevent::Lock lock;
  EXPECT_THROW(lock.release(), std::logic_error);
  std::vector<int> log;
  auto worker = [&](int id) {
    std::scoped_lock hold{lock};
    log.push_back(id);
    gevent::sleep(1ms);
    log.push_back(id);
  };
  gevent::joinall(std::vector{gevent::spawn(worker, 1), gevent::spawn(worker, 2)});
  EXPECT_EQ(log, (std::vector<int>{1, 1, 2, 2}));
}

TEST_F(LockTest, RLockIsReentrantAndOwnerChecked) {
  gevent::RLock rlock;
  rlock.acquire();
  EXPECT_TRUE(rlock.acquire(false));
  EXPECT_TRUE(rlock.is_owned());
  auto other = gevent::spawn([&] {
    EXPECT_FALSE(rlock.is_owned());
    EXPECT_THROW(rlock.release(), std::logic_error);
    return rlock.acquire(true, 5ms);
  });
  EXPECT_FALSE(other.get());
  rlock.release();
  EXPECT_TRUE(rlock.locked());
  rlock.release();
  EXPECT_FALSE(rlock.locked());
  auto later = gevent::spawn([&] {
    std::unique_lock hold{rlock};
    return rlock.is_owned();
  });
  EXPECT_TRUE(later.get());
}

TEST_F(LockTest, ManyGreenletsContendOnOneLock) {
  gevent::Lock lock;
  long counter = 0;
  std::vector<gevent::Greenlet<void>> all;
  const int n = gevent::testing::kManyGreenlets;
  all.reserve(n);
  for (int i = 0; i < n; ++i)
    all.push_back(gevent::spawn([&] {
      std::lock_guard hold{lock};
      const long seen = counter;
      gevent::sleep();  // switch while holding: others must queue
      counter = seen + 1;
    }));
  gevent::joinall(all);
  EXPECT_EQ(counter, n);
  EXPECT_FALSE(lock.locked());
}

}  // namespace

namespace {

class LockRegressionTest : public HubTest {};

TEST_F(LockRegressionTest, AnRLockHeldByADeadGreenletDoesNotLetItsSuccessorIn) {
  gevent::RLock rlock;
  gevent::spawn([&] { rlock.acquire(); }).join();  // dies holding it
  auto successor = gevent::spawn([&] { return rlock.acquire(false); });
  EXPECT_FALSE(successor.get());
  EXPECT_TRUE(rlock.locked());
}

}  // namespace
