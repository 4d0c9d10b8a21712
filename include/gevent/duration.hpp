// Durations and optional time limits, as every gevent-cpp call takes them.
#pragma once

#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace gevent {

// The one internal unit. Every public call accepts any std::chrono::duration and converts.
using Duration = std::chrono::nanoseconds;

// Converts any std::chrono::duration to Duration.
// Negative durations become zero (as in gevent, where sleep(-1) is sleep(0));
// NaN throws std::invalid_argument; values beyond Duration's range saturate.
template <class Rep, class Period>
Duration to_duration(std::chrono::duration<Rep, Period> d) {
  if constexpr (std::is_floating_point_v<Rep>) {
    if (std::isnan(d.count())) throw std::invalid_argument("gevent: duration is NaN");
    using Seconds = std::chrono::duration<long double>;
    const long double s = std::chrono::duration_cast<Seconds>(d).count();
    if (s <= 0) return Duration::zero();
    constexpr long double max_s = static_cast<long double>(Duration::max().count()) / 1e9L;
    if (s >= max_s) return Duration::max();
    return Duration(static_cast<Duration::rep>(s * 1e9L));
  } else {
    if (d.count() <= 0) return Duration::zero();
    using Wide = std::chrono::duration<long double, Period>;
    if (std::chrono::duration_cast<std::chrono::duration<long double, std::nano>>(Wide(d.count()))
            .count() >= static_cast<long double>(Duration::max().count()))
      return Duration::max();
    return std::chrono::duration_cast<Duration>(d);
  }
}

// A time limit that may be absent ("no timeout", gevent's None). Implicit from any
// std::chrono::duration and from std::nullopt, so `g.join(100ms)` and `g.join()` both read well.
class MaybeDuration {
 public:
  MaybeDuration() = default;
  MaybeDuration(std::nullopt_t) {}  // NOLINT(google-explicit-constructor)
  template <class Rep, class Period>
  MaybeDuration(std::chrono::duration<Rep, Period> d)  // NOLINT(google-explicit-constructor)
      : value_(to_duration(d)) {}

  bool has_value() const { return value_.has_value(); }
  explicit operator bool() const { return has_value(); }
  Duration value() const { return *value_; }

 private:
  std::optional<Duration> value_;
};

}  // namespace gevent
