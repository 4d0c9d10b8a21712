// Built against the installed package with the hooks: two greenlets in a plain usleep() must
// overlap (each starts before either ends), or the hooks were not linked in.
#include <unistd.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>

#include <cstdio>
#include <string>

int main() {
  gevent::monkey::patch_all();
  std::string order;
  auto nap = [&](char name) {
    order += name;
    ::usleep(50'000);
    order += name;
  };
  auto a = gevent::spawn(nap, 'a');
  auto b = gevent::spawn(nap, 'b');
  gevent::joinall({a, b});
  std::printf("consumer_monkey saw %s\n", order.c_str());
  return order == "abab" ? 0 : 1;
}
