// User callbacks linked to a Linkable: each runs once, in the hub, when the object next
// becomes ready (gevent's rawlink). Owned by the object; a callback added when it is ready
// runs at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "gevent/detail/link.hpp"

namespace gevent::detail {

class CallbackLinks {
 public:
  CallbackLinks();
  ~CallbackLinks();
  CallbackLinks(const CallbackLinks&) = delete;
  CallbackLinks& operator=(const CallbackLinks&) = delete;

  // Links `callback` to `source`; returns a token for remove().
  std::uint64_t add(Linkable& source, std::function<void()> callback);
  bool remove(std::uint64_t token);

 private:
  struct FunctionLink;
  std::vector<std::unique_ptr<FunctionLink>> links_;
  std::uint64_t next_token_ = 1;
};

}  // namespace gevent::detail
