// gevent.signal_handler: run a function in a new greenlet each time a signal arrives.
//
//   gevent::SignalHandler on_hup = gevent::signal_handler(SIGHUP, reload_config, path);
//   ...                                   // each SIGHUP runs reload_config(path) in a greenlet
//   on_hup.cancel();                      // or let the handle go out of scope
//
// The handle owns the registration: destroying it cancels it (gevent's handler lives until
// cancel(); here RAII does that), so a handle that is dropped at once watches nothing, and
// signal_handler() is [[nodiscard]]. Keep it for as long as the signal should be handled.
//
// The signal is watched by this thread's hub. Like gevent's, the handler does not keep the
// loop alive: a greenlet waiting for nothing but a signal still gets LoopExit. Signals that
// arrive close together may be coalesced into one call. A signal can be watched by one
// thread's hub at a time: watching it from a second hub throws std::logic_error (from the
// loop); another handler for it on the same hub is fine, and both run. SIGKILL, SIGSTOP and
// numbers that are no signal throw std::invalid_argument. Create, cancel and destroy the
// handle on its hub's thread.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace gevent {

class SignalHandler {
 public:
  // Watches `signum` on this thread's hub; each arrival spawns a greenlet running handler().
  SignalHandler(int signum, std::function<void()> handler);
  SignalHandler(SignalHandler&&) noexcept;
  SignalHandler& operator=(SignalHandler&&) noexcept;
  ~SignalHandler();  // cancels

  // Stops watching; greenlets already spawned still run. Idempotent.
  void cancel();
  bool active() const;
  int signum() const;

 private:
  class State;
  std::unique_ptr<State> state_;
};

// gevent.signal_handler(signum, f, *args): f(args...) runs in a new greenlet on every arrival
// of `signum` until the returned handle is cancelled or destroyed. The arguments are copied
// once, into the handle.
template <class F, class... Args>
requires std::invocable < std::decay_t<F>
&, std::decay_t<Args>&... >
       [[nodiscard]] SignalHandler signal_handler(int signum, F&& f, Args&&... args) {
  return SignalHandler(signum,
                       [f = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable {
                         std::invoke(f, args...);
                       });
}

}  // namespace gevent
