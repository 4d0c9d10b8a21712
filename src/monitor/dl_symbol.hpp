// Looking up a function of a library the monitor loads with dlopen (libunwind, libdw).
#pragma once

#include <dlfcn.h>

namespace gevent::detail {

// Sets `into` to the function `name` of `library`; `ok` turns false if it is missing.
template <class F>
void resolve(void* library, const char* name, F& into, bool& ok) {
  into = reinterpret_cast<F>(::dlsym(library, name));
  ok = ok && into != nullptr;
}

}  // namespace gevent::detail
