// A time limit for one call that may wait several times (a socket's recv that waits, gets a
// partial record, waits again): started at its first wait, so a call that never waits never
// reads the clock.
#pragma once

#include "gevent/detail/timer_node.hpp"
#include "gevent/duration.hpp"

namespace gevent::detail {

class Deadline {
 public:
  explicit Deadline(MaybeDuration limit) : limit_(limit) {}
  bool nonblocking() const { return limit_ && limit_.value() == Duration::zero(); }
  // What is left: none for no limit, else at least zero.
  MaybeDuration remaining() {
    if (!limit_) return {};
    const auto now = Clock::now();
    if (!started_) {
      at_ = now + limit_.value();
      started_ = true;
    }
    return at_ > now ? Duration(at_ - now) : Duration::zero();
  }

 private:
  MaybeDuration limit_;
  Clock::time_point at_{};  // valid once started_
  bool started_ = false;
};

}  // namespace gevent::detail
