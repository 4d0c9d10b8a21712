#include "gevent/loop.hpp"

#include <stdexcept>
#include <string>

#include "loop/libev_loop.hpp"
#include "loop/libuv_loop.hpp"

namespace gevent::loop {

std::unique_ptr<Loop> make_loop(std::string_view backend, bool default_loop) {
  if (backend == "libev") return detail::make_libev_loop(default_loop);
  // Every libuv loop can watch children, so libuv has no default loop to ask for.
  if (backend == "libuv") return detail::make_libuv_loop();
  throw std::invalid_argument("gevent: unknown loop backend \"" + std::string(backend) +
                              "\"; expected \"libev\" or \"libuv\"");
}

}  // namespace gevent::loop
