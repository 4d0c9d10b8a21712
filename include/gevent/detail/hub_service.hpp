// Per-hub services: the fd table, the resolver, the thread pool, and whatever else a layer
// keeps once per hub. One mechanism for all of them (Hub::service<T>()):
//   - created on first use, as T(Hub&), on the hub's thread;
//   - told first when the hub is being destroyed (before_hub_shutdown);
//   - destroyed by the hub in the reverse order of their creation, after its greenlets are
//     gone and before its loop (a service that needs another asks for it in its constructor,
//     so that the other outlives it);
//   - told about fork: Hub::reinit() calls after_fork_in_child() on each, in creation order,
//     after the loop itself was reinitialized.
#pragma once

#include <cstddef>

namespace gevent::detail {

class HubService {
 public:
  HubService() = default;
  HubService(const HubService&) = delete;
  HubService& operator=(const HubService&) = delete;
  virtual ~HubService() = default;

  // When the hub is being destroyed, on its main greenlet, before its greenlets are killed:
  // the hub still runs, so work the service keeps (aio's tasks) can be cancelled and waited
  // for. Called on each service in creation order.
  virtual void before_hub_shutdown() {}

  // In a forked child, on the forking thread's hub: the kernel objects and threads the
  // service shared with the parent are not its own any more.
  virtual void after_fork_in_child() {}
};

// A small number per service type, the type's slot in every hub's table.
std::size_t next_service_key();
template <class Service>
std::size_t service_key() {
  static const std::size_t key = next_service_key();
  return key;
}

}  // namespace gevent::detail
