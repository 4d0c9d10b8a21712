// Run info (include/gevent/util.hpp): each hub describes itself on its own thread.
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "context/fiber.hpp"
#include "context/stack.hpp"
#include "core/hub_registry.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/util.hpp"
#include "monitor/source_lines.hpp"
#include "monitor/thread_backtrace.hpp"

namespace gevent {
namespace {

using detail::GreenletBase;
using detail::WaitTopic;

std::string seconds(std::chrono::nanoseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", std::chrono::duration<double>(duration).count());
  return text;
}

std::string describe(const WaitTopic& topic) {
  std::string text = topic.what;
  switch (topic.subject) {
    case WaitTopic::Subject::none:
      break;
    case WaitTopic::Subject::object: {
      char address[32];
      std::snprintf(address, sizeof address, " at %#llx",
                    static_cast<unsigned long long>(topic.which));
      text += address;
      break;
    }
    case WaitTopic::Subject::fd:
      text += " on fd " + std::to_string(static_cast<std::intptr_t>(topic.which));
      break;
    case WaitTopic::Subject::greenlet: {
      // The joiner holds the greenlet it joins: alive while the wait lasts.
      const auto* joined = reinterpret_cast<const GreenletBase*>(topic.which);
      text += " greenlet " + std::to_string(joined->id()) + " \"" + joined->name() + "\"";
      break;
    }
    case WaitTopic::Subject::pid:
      text += " pid " + std::to_string(static_cast<std::intptr_t>(topic.which));
      break;
  }
  return text;
}

std::string waiting_for(const detail::Waiter& waiter) {
  std::string text = describe(waiter.topic());
  if (const detail::TimerNode* timer = waiter.timer())
    text +=
        " (" +
        seconds(std::max(detail::Clock::duration::zero(), timer->deadline - detail::Clock::now())) +
        " left)";
  return text;
}

GreenletInfo::State state_of(const GreenletBase& greenlet, const Hub& hub) {
  using State = GreenletInfo::State;
  if (&greenlet == &hub.current_greenlet()) return State::running;
  if (greenlet.state() == GreenletBase::State::scheduled) return State::scheduled;
  if (greenlet.queued()) return State::ready;
  return greenlet.waiting_in ? State::waiting : State::suspended;
}

std::string backtrace_of(const GreenletBase& greenlet, int max_frames, detail::SourceLines& lines) {
  const context::SuspendedAt at = context::suspended_at(greenlet);
  detail::Registers registers;
  registers.ip = at.ip;
  registers.sp = at.sp;
  registers.bp = at.bp;
  return detail::unwind(registers, nullptr, max_frames, &lines);
}

GreenletInfo describe(const GreenletBase& greenlet, const Hub& hub, const RunInfoOptions& options,
                      detail::Clock::time_point now, detail::SourceLines* lines) {
  GreenletInfo info;
  info.id = greenlet.id();
  info.name = greenlet.name();
  info.state = state_of(greenlet, hub);
  if (info.state == GreenletInfo::State::waiting)
    info.waiting_for = waiting_for(*greenlet.waiting_in);
  info.main = greenlet.kind() == GreenletBase::Kind::main;
  if (!info.main) {
    info.stack_size = greenlet.stack.size;
    info.stack_high_water = context::StackPool::high_water(greenlet.stack);
  }
  info.started_by = greenlet.started_by;
  if (greenlet.kind() == GreenletBase::Kind::spawned)
    info.age = now - detail::Clock::time_point(detail::Clock::duration(greenlet.started_at));
  const bool suspended = info.state == GreenletInfo::State::ready ||
                         info.state == GreenletInfo::State::waiting ||
                         info.state == GreenletInfo::State::suspended;
  if (lines && suspended && greenlet.context)
    info.backtrace = backtrace_of(greenlet, options.max_frames, *lines);
  return info;
}

// On the hub's own thread.
HubInfo describe_this_hub(const RunInfoOptions& options) {
  Hub& hub = Hub::current();
  HubInfo info;
  info.thread_id = ::gettid();
  info.backend = hub.backend();
  info.counters = hub.counters();
  const auto now = detail::coarse_now();
  std::optional<detail::SourceLines> lines;
  if (options.greenlet_stacks) lines.emplace();
  detail::SourceLines* stacks = lines ? &*lines : nullptr;  // null: no backtraces
  info.greenlets.push_back(describe(hub.main_greenlet(), hub, options, now, stacks));
  for (const GreenletBase* g = hub.first_live(); g; g = g->live_next)
    info.greenlets.push_back(describe(*g, hub, options, now, stacks));
  return info;
}

// A hub of another thread, asked to describe itself.
struct Request {
  std::mutex mutex;
  std::condition_variable answered;
  std::optional<HubInfo> answer;
};

HubInfo silent_hub(pid_t tid, const RunInfoOptions& options) {
  HubInfo info;
  info.thread_id = tid;
  info.answered = false;
  if (const auto in = detail::read_syscall(tid)) {
    info.thread_state = "in system call " + std::to_string(in->number);
    if (options.greenlet_stacks) {
      detail::SourceLines lines;
      info.thread_backtrace = detail::unwind(in->registers, nullptr, options.max_frames, &lines);
    }
  } else {
    info.thread_state = "running";
  }
  return info;
}

void write_backtrace(std::ostream& out, const std::string& frames, const char* indent) {
  std::istringstream lines(frames);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) out << indent << line << '\n';
}

void write_greenlet(std::ostream& out, const GreenletInfo& g) {
  out << "  greenlet " << g.id << " \"" << g.name << "\"";
  if (!g.main) {
    out << ", started by ";
    if (g.started_by == GreenletInfo::kStartedByHub)
      out << "the hub";
    else
      out << g.started_by;
    out << " " << seconds(g.age) << " ago, stack " << g.stack_high_water / 1024 << " of "
        << g.stack_size / 1024 << " KiB used";
  }
  out << ": " << to_string(g.state);
  if (!g.waiting_for.empty()) out << " for " << g.waiting_for;
  out << '\n';
  write_backtrace(out, g.backtrace, "    ");
}

void write_hub(std::ostream& out, const HubInfo& hub) {
  out << "hub of thread " << hub.thread_id;
  if (!hub.answered) {
    out << ": did not answer (blocked, or busy); its thread is " << hub.thread_state << '\n';
    write_backtrace(out, hub.thread_backtrace, "    ");
    return;
  }
  const HubCounters& c = hub.counters;
  out << " (" << hub.backend << "): " << c.greenlets_alive << " greenlets alive, " << c.ready
      << " ready, " << c.timers << " timers, " << c.switches << " switches\n";
  for (const GreenletInfo& g : hub.greenlets) write_greenlet(out, g);
}

}  // namespace

static_assert(GreenletInfo::kStartedByHub == GreenletBase::kStartedByHub);

std::string_view to_string(GreenletInfo::State state) {
  switch (state) {
    case GreenletInfo::State::running:
      return "running";
    case GreenletInfo::State::ready:
      return "ready";
    case GreenletInfo::State::waiting:
      return "waiting";
    case GreenletInfo::State::suspended:
      return "suspended";
    case GreenletInfo::State::scheduled:
      return "scheduled";
  }
  return "?";
}

std::vector<HubInfo> run_info(const RunInfoOptions& options) {
  Hub* own = Hub::current_if_exists();
  std::vector<std::pair<pid_t, std::shared_ptr<Request>>> asked;
  detail::for_each_hub([&](const detail::HubEntry& entry) {
    if (entry.hub == own) return;
    auto request = std::make_shared<Request>();
    entry.hub->run_callback_threadsafe([request, options] {
      HubInfo info = describe_this_hub(options);
      std::lock_guard lock(request->mutex);
      request->answer = std::move(info);
      request->answered.notify_all();
    });
    asked.emplace_back(entry.tid, std::move(request));
  });
  if (options.greenlet_stacks) detail::prepare_unwinder();
  std::vector<HubInfo> hubs;
  if (own) hubs.push_back(describe_this_hub(options));
  const auto deadline = std::chrono::steady_clock::now() + options.patience;
  for (auto& [tid, asked_hub] : asked) {
    Request& request = *asked_hub;  // a plain reference: clang 14 cannot capture a binding
    std::unique_lock lock(request.mutex);
    request.answered.wait_until(lock, deadline, [&] { return request.answer.has_value(); });
    hubs.push_back(request.answer ? std::move(*request.answer) : silent_hub(tid, options));
  }
  return hubs;
}

void print_run_info(std::ostream& out, const RunInfoOptions& options) {
  for (const HubInfo& hub : run_info(options)) write_hub(out, hub);
  out << std::flush;
}

void print_run_info(const RunInfoOptions& options) { print_run_info(std::cerr, options); }

std::string format_run_info(const RunInfoOptions& options) {
  std::ostringstream out;
  print_run_info(out, options);
  return out.str();
}

}  // namespace gevent
