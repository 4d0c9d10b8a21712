// to_duration and MaybeDuration: every duration argument goes through them.
#include <gevent/duration.hpp>

#include <cmath>
#include <limits>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::Duration;
using gevent::MaybeDuration;
using gevent::to_duration;

namespace {

TEST(Duration, ConvertsAnyChronoDuration) {
  EXPECT_EQ(to_duration(3ms), Duration(3'000'000));
  EXPECT_EQ(to_duration(2s), Duration(2'000'000'000));
  EXPECT_EQ(to_duration(std::chrono::duration<double>(0.25)), Duration(250'000'000));
  EXPECT_EQ(to_duration(std::chrono::duration<float, std::milli>(1.5f)), Duration(1'500'000));
}

TEST(Duration, NegativeMeansZero) {
  EXPECT_EQ(to_duration(-5s), Duration::zero());
  EXPECT_EQ(to_duration(std::chrono::duration<double>(-0.1)), Duration::zero());
}

TEST(Duration, NanIsRejectedWithAClearMessage) {
  try {
    to_duration(std::chrono::duration<double>(std::nan("")));
    FAIL() << "NaN accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos);
  }
}

TEST(Duration, HugeValuesSaturate) {
  EXPECT_EQ(to_duration(std::chrono::hours::max()), Duration::max());
  EXPECT_EQ(to_duration(std::chrono::duration<double>(1e300)), Duration::max());
  EXPECT_EQ(to_duration(std::chrono::duration<double>(std::numeric_limits<double>::infinity())),
            Duration::max());
}

TEST(Duration, MaybeDurationIsEmptyByDefaultAndFromNullopt) {
  EXPECT_FALSE(MaybeDuration().has_value());
  EXPECT_FALSE(MaybeDuration(std::nullopt).has_value());
  const MaybeDuration some = 10ms;
  ASSERT_TRUE(some.has_value());
  EXPECT_EQ(some.value(), Duration(10'000'000));
}

}  // namespace
