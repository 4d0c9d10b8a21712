// Every hub of the process, for run info (gevent/util.hpp), which asks each on its own thread.
#pragma once

#include <sys/types.h>

#include <functional>

namespace gevent {
class Hub;
}

namespace gevent::detail {

struct HubEntry {
  Hub* hub;
  pid_t tid;  // the hub's thread
};

void register_hub(Hub& hub);
void unregister_hub(Hub& hub);
// Calls `visit` for each hub with the registry locked: the hubs stay alive meanwhile. `visit`
// must not block, nor make or destroy a hub.
void for_each_hub(const std::function<void(const HubEntry&)>& visit);

}  // namespace gevent::detail
