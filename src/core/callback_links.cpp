#include "gevent/detail/callback_links.hpp"

#include "gevent/hub.hpp"

namespace gevent::detail {

struct CallbackLinks::FunctionLink final : Link {
  FunctionLink(std::function<void()> callback, std::uint64_t token)
      : callback(std::move(callback)), token(token) {}
  void notify(Linkable&) override { Hub::current().run_callback(callback); }
  std::function<void()> callback;
  std::uint64_t token;
};

CallbackLinks::CallbackLinks() = default;
CallbackLinks::~CallbackLinks() = default;

std::uint64_t CallbackLinks::add(Linkable& source, std::function<void()> callback) {
  const std::uint64_t token = next_token_++;
  if (source.ready()) {
    Hub::current().run_callback(std::move(callback));
    return token;
  }
  links_.push_back(std::make_unique<FunctionLink>(std::move(callback), token));
  source.rawlink(*links_.back());
  return token;
}

bool CallbackLinks::remove(std::uint64_t token) {
  for (auto it = links_.begin(); it != links_.end(); ++it) {
    if ((*it)->token != token) continue;
    links_.erase(it);
    return true;
  }
  return false;
}

}  // namespace gevent::detail
