// gevent::local: greenlet-local storage.
#include <gevent/gevent.hpp>
#include <gevent/local.hpp>

#include <string>
#include <vector>

#include "support/harness.hpp"

using namespace std::chrono_literals;
using gevent::testing::HubTest;

namespace {

class LocalTest : public HubTest {};

struct Request {
  std::string path;
  int hits = 0;
};

TEST_F(LocalTest, EachGreenletSeesItsOwnValue) {
  gevent::local<Request> request;
  auto handler = [&](std::string path) {
    request->path = path;
    for (int i = 0; i < 3; ++i) {
      ++request->hits;
      gevent::sleep();  // others run and write their own values meanwhile
    }
    return request->path + ":" + std::to_string(request->hits);
  };
  auto a = gevent::spawn(handler, "/a");
  auto b = gevent::spawn(handler, "/b");
  EXPECT_EQ(a.get(), "/a:3");
  EXPECT_EQ(b.get(), "/b:3");
  EXPECT_EQ(request->path, "") << "main has a value of its own";
}

TEST_F(LocalTest, ValuesAreMadeByTheFactoryAndDroppedWhenTheGreenletDies) {
  int made = 0;
  gevent::local<int> counter([&] { return ++made * 100; });
  std::vector<gevent::Greenlet<int>> all;
  for (int i = 0; i < 5; ++i) all.push_back(gevent::spawn([&] { return *counter; }));
  gevent::joinall(all);
  EXPECT_EQ(made, 5);
  gevent::sleep();  // cleanups run in the hub
  EXPECT_EQ(counter.size(), 0u);
  *counter;
  EXPECT_EQ(counter.size(), 1u);
}

TEST_F(LocalTest, ALocalDestroyedBeforeItsGreenletsIsSafe) {
  auto g = gevent::spawn([] {
    gevent::local<std::string> name;
    *name = "short-lived";
    return *name;
  });
  std::vector<gevent::Greenlet<void>> others;
  {
    gevent::local<int> value;
    others.push_back(gevent::spawn([&] { *value = 1; }));
    gevent::sleep();
  }
  gevent::joinall(others);
  EXPECT_EQ(g.get(), "short-lived");
}

}  // namespace
