// The exceptions of the core, named as in gevent. gevent::Timeout is in timeout.hpp.
#pragma once

#include <exception>
#include <stdexcept>

namespace gevent {

// Thrown into a greenlet by kill(). A greenlet that ends with it counts as successful,
// and it is not reported on stderr. Like Python's BaseException (and boost's
// thread_interrupted), it does not derive from std::exception, so `catch (const
// std::exception&)` in ordinary error handling does not swallow a kill.
class GreenletExit {
 public:
  const char* what() const noexcept { return "gevent::GreenletExit"; }
};

// The main greenlet waits, and nothing (no greenlet ready to run, no timer, no active
// watcher) can ever wake it: thrown instead of hanging forever.
class LoopExit : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A blocking call made from the hub itself (a loop callback, a timer, a rawlink callback),
// where there is no greenlet to suspend.
class BlockingSwitchOutError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// A greenlet, or the hub, used from a thread other than the one that owns it.
class WrongThreadError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Two greenlets wait on the same object where only one may (gevent's ConcurrentObjectUseError):
// for example two greenlets reading one socket at once.
class ConcurrentObjectUseError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace gevent
