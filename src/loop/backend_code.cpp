#include "loop/backend_code.hpp"

#include <dlfcn.h>

namespace gevent::loop::detail {
namespace {

const void* object_of(const void* address) {
  Dl_info info{};
  return ::dladdr(address, &info) != 0 ? info.dli_fbase : nullptr;
}

// The object defining `function`, unless it is gevent-cpp's own. Looked up by name: in a
// program built without -fPIE, &function would be the program's own stub for it.
const void* separate_object_of(const char* function) {
  const void* definition = ::dlsym(RTLD_DEFAULT, function);
  const void* object = definition ? object_of(definition) : nullptr;
  return object == object_of(reinterpret_cast<const void*>(&is_backend_code)) ? nullptr : object;
}

}  // namespace

bool is_backend_code(const void* address) {
  static const void* const libev = separate_object_of("ev_run");
  static const void* const libuv = separate_object_of("uv_run");
  const void* object = object_of(address);
  return object != nullptr && (object == libev || object == libuv);
}

}  // namespace gevent::loop::detail
