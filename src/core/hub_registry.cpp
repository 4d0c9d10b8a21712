#include "core/hub_registry.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <new>
#include <vector>

#include "gevent/hub.hpp"

namespace gevent::detail {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<HubEntry> hubs;
};

Registry* registry_instance = nullptr;

// Only the forking thread lives on in the child: its hub stays, under its new thread id, and
// the mutex starts afresh (another thread may have held it at the fork).
void keep_only_this_threads_hub_in_child() {
  Registry& r = *registry_instance;
  new (&r.mutex) std::mutex;
  Hub* own = Hub::current_if_exists();
  std::erase_if(r.hubs, [&](const HubEntry& entry) { return entry.hub != own; });
  for (HubEntry& entry : r.hubs) entry.tid = ::gettid();
}

// Never destroyed: hubs of threads still running at exit unregister after static destructors.
Registry& registry() {
  static Registry* const instance = [] {
    registry_instance = new Registry;
    pthread_atfork(nullptr, nullptr, keep_only_this_threads_hub_in_child);
    return registry_instance;
  }();
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
