// Which code belongs to the event-loop libraries: the signal hooks (src/monkey) tell the
// handlers libev and libuv install from the program's own by where they are.
#pragma once

namespace gevent::loop::detail {

// Whether `address` lies in libev's or libuv's shared object. False when a backend is linked
// into the same object as gevent-cpp (then code cannot be told apart by its object).
bool is_backend_code(const void* address);

}  // namespace gevent::loop::detail
