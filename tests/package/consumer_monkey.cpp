// Built against the installed package with the hooks. Before patch_all() a usleep() is the
// original call (it must return, not recurse into the hooks); after it, two greenlets napping
// must overlap (each starts before either ends): one naps in usleep() from this program, the
// other in std::this_thread::sleep_for, whose nanosleep() call comes from libstdc++.
#include <unistd.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

int main() {
  ::usleep(1'000);
  gevent::monkey::patch_all();
  std::string order;
  auto a = gevent::spawn([&] {
    order += 'a';
    ::usleep(50'000);
    order += 'a';
  });
  auto b = gevent::spawn([&] {
    order += 'b';
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    order += 'b';
  });
  gevent::joinall({a, b});
  std::printf("consumer_monkey saw %s\n", order.c_str());
  return order == "abab" ? 0 : 1;
}
