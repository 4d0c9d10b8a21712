// The originals seen from the hooks' own object. When gevent::monkey is a shared library,
// RTLD_NEXT from here skips the hooks wherever the loader put libgevent; the sys layer asks
// for this function by name (src/sys/originals.cpp) and uses it when it exists.
#include <dlfcn.h>

// dlsym reads its return address to know who asks: the barrier keeps the call from becoming a
// tail jump, which would make the caller of this function the one asking.
extern "C" [[gnu::visibility("default")]] void* gevent_monkey_next_definition(const char* name) {
  void* found = ::dlsym(RTLD_NEXT, name);
  asm volatile("" : "+r"(found));
  return found;
}
