// The loop contract on libev.
#pragma once

#include <memory>

#include "gevent/loop.hpp"

namespace gevent::loop::detail {

// `default_loop` selects libev's default loop, the only one that can watch children; at
// most one may exist at a time (a second throws std::logic_error).
std::unique_ptr<Loop> make_libev_loop(bool default_loop);

}  // namespace gevent::loop::detail
