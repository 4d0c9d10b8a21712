#include "loop/reaped_children.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "gevent/loop.hpp"

namespace gevent::loop {
namespace {

// Statuses nobody takes (children of code that never waits for them) are few; past this
// many, the oldest go.
constexpr std::size_t kMaxRecorded = 1024;

struct Recorded {
  int status;
  std::uint64_t order;
};

class ReapedChildren {
 public:
  std::mutex mutex;

  void record(int pid, int status) {
    std::lock_guard lock(mutex);
    statuses_[pid] = Recorded{status, next_order_++};
    if (statuses_.size() > kMaxRecorded) drop_oldest();
  }

  std::optional<int> take(int pid) {
    std::lock_guard lock(mutex);
    const auto found = statuses_.find(pid);
    if (found == statuses_.end()) return std::nullopt;
    const int status = found->second.status;
    statuses_.erase(found);
    return status;
  }

  // Called with `mutex` held.
  void forget(int pid) { statuses_.erase(pid); }
  void forget_all() { statuses_.clear(); }

 private:
  void drop_oldest() {
    const auto oldest = std::min_element(
        statuses_.begin(), statuses_.end(),
        [](const auto& a, const auto& b) { return a.second.order < b.second.order; });
    statuses_.erase(oldest);
  }

  std::unordered_map<int, Recorded> statuses_;
  std::uint64_t next_order_ = 0;
};

// Never destroyed: libev may reap a child while the process exits.
ReapedChildren& reaped_children() {
  static auto* instance = new ReapedChildren;
  return *instance;
}

}  // namespace

void detail::record_reaped_status(int pid, int status) {
  if (pid > 0 && (WIFEXITED(status) || WIFSIGNALED(status))) reaped_children().record(pid, status);
}

std::optional<int> take_reaped_status(int pid) { return reaped_children().take(pid); }

// The lock is taken before a fork and released on both sides of it: in the child, only the
// thread that took it exists, so releasing it there is sound.
int spawn_child(const std::function<int()>& spawn) {
  ReapedChildren& children = reaped_children();
  std::lock_guard lock(children.mutex);
  const int pid = spawn();
  if (pid > 0) children.forget(pid);
  if (pid == 0) children.forget_all();
  return pid;
}

}  // namespace gevent::loop
