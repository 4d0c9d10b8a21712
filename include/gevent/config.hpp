// gevent-cpp's configuration: gevent's environment variables, or code that sets them first.
//
//   GEVENT_LOOP         libev (default) | libuv      the hub's event-loop backend
//   GEVENT_STACK_SIZE   bytes, or with K/M suffix    default greenlet stack (128K; 512K under ASan)
//
// config() reads the environment once, on first use; changes made through it apply to hubs
// (and greenlets) created afterwards. A malformed variable throws std::invalid_argument
// naming it.
#pragma once

#include <cstddef>
#include <string>

#include "gevent/detail/sanitizers.hpp"

namespace gevent {

struct Config {
  std::string loop = "libev";
  // ASan's redzones make frames several times larger: its builds get bigger stacks.
  std::size_t stack_size = (GEVENT_ASAN ? 512 : 128) * 1024;
};

Config& config();

}  // namespace gevent
