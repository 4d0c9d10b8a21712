// Built with -O2 -D_FORTIFY_SOURCE=2 (tests/CMakeLists.txt): read, recv, recvfrom and poll on
// buffers of known size become __read_chk, __recv_chk, __recvfrom_chk and __poll_chk, which
// call glibc's internal __read and __poll. The hooks define the checked forms too; were they
// missing, each wait below would block the whole thread and the test would never end.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>

#include <string>

#include "support/harness.hpp"
#include "support/heartbeat.hpp"
#include "support/pipe.hpp"

using namespace std::chrono_literals;

namespace {

// Lengths the compiler cannot see: with a constant that fits, glibc's wrappers call the plain
// function, checking at compile time instead.
volatile size_t opaque_zero = 0;

class FortifiedTest : public gevent::testing::HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    gevent::monkey::patch_all();
  }
};

TEST_F(FortifiedTest, CheckedReadRecvAndPollAreCooperative) {
  gevent::testing::Pipe pipe;
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  gevent::testing::Heartbeat heartbeat;
  auto writer = gevent::spawn([&] {
    for (int i = 0; i < 4; ++i) {
      gevent::sleep(30ms);
      if (::write(pipe.w, "p", 1) != 1) ADD_FAILURE() << "pipe write";
      ::send(pair[1], "s", 1, 0);
    }
  });
  char buf[8];
  const size_t len = sizeof buf - opaque_zero;
  EXPECT_EQ(::read(pipe.r, buf, len), 1);
  EXPECT_EQ(::recv(pair[0], buf, len, 0), 1);
  EXPECT_EQ(::recvfrom(pair[0], buf, len, 0, nullptr, nullptr), 1);
  pollfd fds[1] = {{pipe.r, POLLIN, 0}};
  EXPECT_EQ(::poll(fds, 1 + opaque_zero, 5000), 1);
  writer.join();
  EXPECT_LT(heartbeat.stop(), gevent::testing::kMaxHeartbeatGap);
  ::close(pair[0]);
  ::close(pair[1]);
}

}  // namespace
