// std::exit() called inside a greenlet: thread-local destructors (the hub's among them) run
// on that greenlet's stack, which must stay mapped. Exits with 7 when all went well; ctest
// checks the code (a crash gives 139). Its own program, not a gtest death test, so that
// LeakSanitizer sees no test-framework state at exit.
#include <gevent/gevent.hpp>

#include <cstdlib>

int main() {
  using namespace std::chrono_literals;
  gevent::spawn(gevent::SpawnOptions{.stack_size = 1 << 20}, [] {
    gevent::sleep(1ms);
    std::exit(7);
  });
  gevent::sleep(1s);
  return 1;  // not reached: the greenlet exits the process first
}
