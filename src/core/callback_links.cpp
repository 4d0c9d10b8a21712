#include "gevent/detail/callback_links.hpp"

#include "gevent/hub.hpp"

namespace gevent::detail {

// Fires once, on the hub of the thread that added it; spent links are dropped at the next
// add or remove.
struct CallbackLinks::FunctionLink final : Link {
  FunctionLink(Hub& hub, std::function<void()> callback, std::uint64_t token)
      : hub(hub), callback(std::move(callback)), token(token) {}
  void notify(Linkable&) override {
    unlink();
    spent = true;
    hub.run_callback(std::move(callback));
  }
  Hub& hub;
  std::function<void()> callback;
  std::uint64_t token;
  bool spent = false;
};

CallbackLinks::CallbackLinks() = default;
CallbackLinks::~CallbackLinks() = default;

std::uint64_t CallbackLinks::add(Linkable& source, std::function<void()> callback) {
  std::erase_if(links_, [](const auto& link) { return link->spent; });
  const std::uint64_t token = next_token_++;
  if (source.ready()) {
    Hub::current().run_callback(std::move(callback));
    return token;
  }
  links_.push_back(std::make_unique<FunctionLink>(Hub::current(), std::move(callback), token));
  source.rawlink(*links_.back());
  return token;
}

bool CallbackLinks::remove(std::uint64_t token) {
  for (auto it = links_.begin(); it != links_.end(); ++it) {
    if ((*it)->token != token) continue;
    const bool was_pending = !(*it)->spent;
    links_.erase(it);
    return was_pending;
  }
  return false;
}

}  // namespace gevent::detail
