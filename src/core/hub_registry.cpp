#include "core/hub_registry.hpp"

#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <vector>

namespace gevent::detail {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<HubEntry> hubs;
};

// Never destroyed: hubs of threads still running at exit unregister after static destructors.
Registry& registry() {
  static Registry* const instance = new Registry;
  return *instance;
}

}  // namespace

void register_hub(Hub& hub) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.hubs.push_back({&hub, ::gettid()});
}

void unregister_hub(Hub& hub) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.hubs, [&](const HubEntry& entry) { return entry.hub == &hub; });
}

void for_each_hub(const std::function<void(const HubEntry&)>& visit) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const HubEntry& entry : r.hubs) visit(entry);
}

}  // namespace gevent::detail
