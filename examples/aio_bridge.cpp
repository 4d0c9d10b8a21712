// Greenlets and C++20 tasks side by side on one hub, each waiting on the other, with a
// timeout crossing the boundary both ways (docs/aio.md).
//
//   build/bin/aio_bridge [ORDERS]   (default 5)
#include "command_line.hpp"

#include <gevent/aio.hpp>
#include <gevent/gevent.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace aio = gevent::aio;

namespace {

constexpr char usage[] = R"(usage: aio_bridge [ORDERS]

Greenlets and tasks on one hub: a greenlet looks up prices, tasks price ORDERS orders
(default 5) by awaiting it, a greenlet waits for the tasks, and timeouts cross between them.

  ORDERS         how many orders, at least 1
  -h, --help     print this help and exit
)";

struct Options {
  bool help = false;
  int orders = 5;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (example::help_requested(arg, options.help)) return options;
    const auto count = example::parse_number<int>(arg);
    if (!count) example::reject_option(arg);
    if (!count || *count < 1)
      throw example::UsageError("ORDERS needs a number of at least 1, got '" + arg + "'");
    if (i > 1) throw example::UsageError("unexpected argument '" + arg + "' after ORDERS");
    options.orders = *count;
  }
  return options;
}

// Blocking-style code, as a greenlet runs it: the lookup "takes" a few milliseconds.
int look_up_price(int item) {
  gevent::sleep(std::chrono::milliseconds(2 + item % 3));
  return 100 + item;
}

// A task awaits a greenlet, an Event and a sleep; none of them blocks anything else.
aio::Task<int> price_order(int item, gevent::Event& market_open) {
  co_await market_open;
  auto lookup = gevent::spawn(look_up_price, item);
  const int price = co_await lookup;  // the greenlet's value
  co_await aio::sleep(1ms);
  co_return price * 2;
}

// A task that is too slow: whoever waits for it gives up, and it is cancelled.
aio::Task<int> slow_quote(bool& cleaned_up) {
  struct Cleanup {
    bool& done;
    ~Cleanup() { done = true; }
  } cleanup{cleaned_up};
  co_await aio::sleep(10s);
  co_return 0;
}

// A Timeout started inside a task, around a greenlet that does not answer in time.
aio::Task<std::string> impatient() {
  auto silent = gevent::spawn([] { gevent::sleep(10s); });
  gevent::Timeout limit(5ms);
  try {
    co_await silent;
  } catch (const gevent::Timeout& expired) {
    silent.kill();
    co_return expired.is(limit) ? "gave up after 5 ms" : "someone else's timeout";
  }
  co_return "answered";
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("aio_bridge", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    const int orders = options.orders;

    gevent::Event market_open;
    std::vector<aio::Future<int>> priced;
    for (int item = 0; item < orders; ++item)
      priced.push_back(aio::spawn(price_order(item, market_open)));
    gevent::spawn([&] {
      gevent::sleep(2ms);
      market_open.set();
    });

    // A greenlet (main) waits for the tasks: only it blocks; the hub runs everything else.
    int total = 0;
    for (auto& order : priced) total += order.get();
    std::printf("priced %d orders, total %d\n", orders, total);

    // A Timeout in a greenlet cancels the task it waits on; the task's cleanup has run when
    // the Timeout reaches the greenlet.
    bool cleaned_up = false;
    try {
      gevent::with_timeout(5ms, [&] { return aio::wait(slow_quote(cleaned_up)); });
    } catch (const gevent::Timeout&) {
      std::printf("slow quote timed out; its task %s\n", cleaned_up ? "cleaned up" : "still runs");
    }

    const std::string answer = aio::wait(impatient());
    std::printf("impatient task: %s\n", answer.c_str());

    int expected = 0;
    for (int item = 0; item < orders; ++item) expected += 2 * (100 + item);
    return total == expected && cleaned_up && answer == "gave up after 5 ms" ? 0 : 1;
  });
}
