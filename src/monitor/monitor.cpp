// The monitor thread (include/gevent/monitor.hpp): one per process, started by the first hub
// made with config().monitor_thread, stopped when the process exits.
#include "gevent/monitor.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "gevent/config.hpp"
#include "gevent/detail/greenlet_base.hpp"
#include "monitor/probe.hpp"
#include "monitor/source_lines.hpp"
#include "monitor/thread_backtrace.hpp"

namespace gevent {
namespace detail {
namespace {

constexpr int kMaxFrames = 32;

// What the monitor remembers of a hub between two looks.
struct Watched {
  HubProbe* probe;
  std::uint64_t beats = 0;
  std::chrono::steady_clock::time_point since;  // when `beats` was first seen
  bool reported = false;                        // this incident is reported
};

class Monitor {
 public:
  static Monitor& instance() {
    static Monitor monitor;
    return monitor;
  }

  void add(HubProbe& probe) {
    std::lock_guard lock(mutex_);
    // The settings as they are when the newest hub is made, read on its thread (config() is
    // not for other threads to read while it may change).
    const Config& settings = gevent::config();
    limit_ = std::chrono::duration_cast<std::chrono::nanoseconds>(settings.max_blocking_time);
    max_memory_ = settings.max_memory_usage;
    memory_period_ = settings.memory_monitor_period;
    watched_.push_back({&probe, 0, std::chrono::steady_clock::now()});
    if (!thread_.joinable()) {
      install_sample_handler();
      prepare_unwinder();
      thread_ = std::thread([this] { run(); });
    }
  }
  void remove(HubProbe& probe) {
    std::lock_guard lock(mutex_);
    std::erase_if(watched_, [&](const Watched& w) { return w.probe == &probe; });
  }
  void set_handler(std::function<void(const BlockingReport&)> handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }
  void set_memory_handler(std::function<void(const MemoryReport&)> handler) {
    std::lock_guard lock(mutex_);
    memory_handler_ = std::move(handler);
  }
  std::uint64_t reports() const {
    std::lock_guard lock(mutex_);
    return reports_;
  }

 private:
  Monitor() = default;
  ~Monitor() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void run() {
    std::unique_lock lock(mutex_);
    auto next_memory_look = std::chrono::steady_clock::now();
    while (!wake_.wait_for(lock, period(), [this] { return stopping_; })) {
      const auto now = std::chrono::steady_clock::now();
      std::vector<BlockingReport> found;
      for (Watched& hub : watched_)
        if (blocked_anew(hub, now, limit_)) found.push_back(describe(*hub.probe, now - hub.since));
      std::optional<MemoryReport> memory;
      if (max_memory_ && now >= next_memory_look) {
        next_memory_look = now + memory_period_;
        memory = look_at_memory(*max_memory_);
      }
      if (found.empty() && !memory) continue;
      reports_ += found.size();
      const auto handler = handler_;
      const auto memory_handler = memory_handler_;
      lock.unlock();  // the handlers may call back (blocking_reports, a new handler)
      for (const BlockingReport& report : found) deliver(handler, report);
      if (memory) deliver(memory_handler, *memory);
      lock.lock();
    }
  }

  std::chrono::nanoseconds period() const {
    auto period = std::max(limit_ / 4, std::chrono::nanoseconds(std::chrono::milliseconds(1)));
    if (max_memory_) period = std::min(period, std::chrono::nanoseconds(memory_period_));
    return period;
  }

  template <class Report>
  static void deliver(const std::function<void(const Report&)>& handler, const Report& report) {
    if (handler)
      handler(report);
    else
      std::cerr << report.text << std::flush;
  }

  // A report when the resident memory crossed `threshold` since the last look.
  std::optional<MemoryReport> look_at_memory(std::size_t threshold) {
    const std::size_t rss = resident_bytes();
    if (rss == 0 || (rss > threshold) == over_memory_) return std::nullopt;
    over_memory_ = rss > threshold;
    MemoryReport report{over_memory_, rss, threshold, {}};
    report.text = "gevent: memory usage " + std::to_string(rss) + " bytes is " +
                  (over_memory_ ? "above" : "back under") + " the threshold of " +
                  std::to_string(threshold) + " bytes (GEVENT_MAX_MEMORY_USAGE)\n";
    return report;
  }

  static std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    if (!(statm >> size >> resident)) return 0;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  }

  // With mutex_ held, so the probe cannot go away (its hub's destructor waits for the lock).
  static bool blocked_anew(Watched& hub, std::chrono::steady_clock::time_point now,
                           std::chrono::nanoseconds limit) {
    const std::uint64_t beats = hub.probe->beats.load(std::memory_order_relaxed);
    if (beats != hub.beats || hub.probe->sleeping.load(std::memory_order_relaxed)) {
      if (hub.reported)  // the incident is over: roughly now, to a sampling period
        hub.probe->blocked_ns.fetch_add(
            static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(now - hub.since).count()),
            std::memory_order_relaxed);
      hub.beats = beats;
      hub.since = now;
      hub.reported = false;
      return false;
    }
    if (hub.reported || now - hub.since < limit) return false;
    hub.reported = true;
    hub.probe->incidents.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  static BlockingReport describe(HubProbe& probe, std::chrono::nanoseconds blocked) {
    BlockingReport report;
    report.thread_id = probe.tid;
    report.blocked_for = blocked;
    const GreenletBase* running = probe.running.load(std::memory_order_acquire);
    report.greenlet_id = running ? running->id() : 0;
    const bool main = running && running->kind() == GreenletBase::Kind::main;
    std::string where;
    SourceLines lines;
    if (const auto in = read_syscall(probe.tid)) {
      where = "; its thread is in system call " + std::to_string(in->number);
      report.backtrace = unwind(in->registers, nullptr, kMaxFrames, &lines);
      // The thread is stuck in the call: the greenlet it runs cannot end while we look.
      if (running && running->custom_name()) report.greenlet_name = running->custom_name();
    } else {
      // One buffer for every sample, never freed: a handler that answers too late writes
      // into it, not into freed memory.
      static ThreadSample* const sample = new ThreadSample;
      if (sample_thread(probe.thread, probe.tid, *sample, 100)) {
        report.backtrace = unwind(sample->registers, sample, kMaxFrames, &lines);
        report.greenlet_name = sample->greenlet_name;
      } else {
        where = "; its thread did not answer the sampling signal";
      }
    }
    if (report.greenlet_name.empty() && running)
      report.greenlet_name =
          main ? "MainGreenlet" : "Greenlet-" + std::to_string(report.greenlet_id);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f", std::chrono::duration<double>(blocked).count());
    const std::string who = running ? "greenlet " + std::to_string(report.greenlet_id) + " \"" +
                                          report.greenlet_name + "\""
                                    : "the hub itself (a loop callback)";
    report.text = "gevent: the hub of thread " + std::to_string(probe.tid) + " is blocked: " + who +
                  " has run " + seconds + " s without switching" + where + "\n";
    std::string indented;
    for (std::size_t start = 0; start < report.backtrace.size();) {
      const std::size_t end = report.backtrace.find('\n', start);
      indented += "  " + report.backtrace.substr(start, end - start + 1);
      start = end == std::string::npos ? report.backtrace.size() : end + 1;
    }
    report.text += indented.empty() ? "  (no backtrace: is libunwind8 installed?)\n" : indented;
    return report;
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Watched> watched_;
  std::function<void(const BlockingReport&)> handler_;
  std::function<void(const MemoryReport&)> memory_handler_;
  std::chrono::nanoseconds limit_{};
  std::optional<std::size_t> max_memory_;
  Duration memory_period_{};
  bool over_memory_ = false;
  std::uint64_t reports_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

HubProbe::HubProbe() : tid(static_cast<pid_t>(::syscall(SYS_gettid))), thread(::pthread_self()) {
  Monitor::instance().add(*this);
}

HubProbe::~HubProbe() { Monitor::instance().remove(*this); }

}  // namespace detail

void set_blocking_report_handler(std::function<void(const BlockingReport&)> handler) {
  detail::Monitor::instance().set_handler(std::move(handler));
}

std::uint64_t blocking_reports() { return detail::Monitor::instance().reports(); }

void set_memory_report_handler(std::function<void(const MemoryReport&)> handler) {
  detail::Monitor::instance().set_memory_handler(std::move(handler));
}

}  // namespace gevent
