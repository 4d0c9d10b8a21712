// Built against the installed package: spawns, joins and prints, or fails.
#include <gevent/gevent.hpp>

#include <cstdio>

int main() {
  auto g = gevent::spawn([] {
    gevent::sleep(std::chrono::milliseconds(1));
    return 42;
  });
  std::printf("consumer got %d\n", g.get());
  return g.get() == 42 ? 0 : 1;
}
