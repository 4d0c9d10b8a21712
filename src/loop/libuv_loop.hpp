// The loop contract on libuv.
#pragma once

#include <memory>

#include "gevent/loop.hpp"

namespace gevent::loop::detail {

std::unique_ptr<Loop> make_libuv_loop();

}  // namespace gevent::loop::detail
