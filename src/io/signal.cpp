#include "gevent/signal.hpp"

#include <csignal>
#include <stdexcept>
#include <string>

#include "gevent/detail/hub_bound.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/hub.hpp"

namespace gevent {

// The watcher and the function. A HubBound, because the watcher must go before its loop.
class SignalHandler::State final : public detail::HubBound {
 public:
  State(int signum, std::function<void()> handler)
      : hub_(&Hub::current()), signum_(signum), handler_(std::move(handler)) {
    if (signum == SIGKILL || signum == SIGSTOP)
      throw std::invalid_argument("gevent::signal_handler: signal " + std::to_string(signum) +
                                  " (SIGKILL or SIGSTOP) cannot be caught");
    watcher_ = hub_->loop().signal(signum, [this] { spawn_raw(handler_); });
    watcher_->set_ref(false);
    watcher_->start();
    hub_->attach(*this);
  }
  ~State() { cancel(); }

  void cancel() {
    watcher_.reset();
    if (hub_) hub_->detach(*this);
    hub_ = nullptr;
  }
  bool active() const { return watcher_ != nullptr; }
  int signum() const { return signum_; }

 private:
  void hub_closing() override {
    watcher_.reset();
    hub_ = nullptr;
  }

  Hub* hub_;
  int signum_;
  std::function<void()> handler_;
  std::unique_ptr<loop::SignalWatcher> watcher_;
};

SignalHandler::SignalHandler(int signum, std::function<void()> handler)
    : state_(std::make_unique<State>(signum, std::move(handler))) {}

SignalHandler::SignalHandler(SignalHandler&&) noexcept = default;
SignalHandler& SignalHandler::operator=(SignalHandler&&) noexcept = default;
SignalHandler::~SignalHandler() = default;

void SignalHandler::cancel() {
  if (state_) state_->cancel();
}

bool SignalHandler::active() const { return state_ && state_->active(); }

int SignalHandler::signum() const { return state_ ? state_->signum() : 0; }

}  // namespace gevent
