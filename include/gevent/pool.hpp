// gevent.pool: Group and Pool.
//
//   gevent::Pool workers{10};                      // at most 10 greenlets at a time
//   for (auto url : urls) workers.spawn(fetch, url);  // blocks while all 10 are busy
//   workers.join();
//   for (auto& result : workers.imap_unordered(fetch, urls)) use(result);
#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <unordered_map>
#include <vector>

#include "gevent/detail/pull_iterator.hpp"
#include "gevent/event.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/lock.hpp"

namespace gevent {

// A set of greenlets that can be waited for and killed together. A greenlet leaves the group
// when it dies.
class Group {
 public:
  Group();
  virtual ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // Spawns f(args...) in a greenlet that belongs to the group (Pool: waits for a free slot).
  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  auto spawn(F&& f, Args&&... args) {
    Greenlet<detail::CallResult<F, Args...>> g(std::forward<F>(f), std::forward<Args>(args)...);
    add(g);
    g.start();
    return g;
  }

  // Adds a greenlet (Pool: waits for a free slot). Adding a member again does nothing.
  void add(const AnyGreenlet& greenlet);
  // Removes a greenlet without killing it; false if it was not a member.
  bool discard(const AnyGreenlet& greenlet);
  bool contains(const AnyGreenlet& greenlet) const;
  std::size_t size() const { return members_->size(); }
  bool empty() const { return members_->empty(); }

  // Waits until the group is empty; false if `timeout` passed first. With raise_error,
  // rethrows the exception of the first member that fails meanwhile.
  bool join(MaybeDuration timeout = {}, bool raise_error = false);
  // Kills every member (see AnyGreenlet::kill); with `block`, waits for them up to `timeout`,
  // then returns even if some are still alive (gevent's Group.kill; killall would throw).
  void kill(std::exception_ptr exception = nullptr, bool block = true, MaybeDuration timeout = {});
  void killone(const AnyGreenlet& greenlet, std::exception_ptr exception = nullptr,
               bool block = true, MaybeDuration timeout = {});

  // Runs f(args...) in a member greenlet and returns its result (rethrows its exception).
  template <class F, class... Args>
  decltype(auto) apply(F&& f, Args&&... args) {
    auto g = spawn(std::forward<F>(f), std::forward<Args>(args)...);
    if constexpr (std::is_void_v<decltype(g.get())>)
      g.get();
    else
      return detail::CallResult<F, Args...>(std::move(g.get()));
  }
  // Like spawn: the greenlet is the asynchronous result.
  template <class F, class... Args>
  auto apply_async(F&& f, Args&&... args) {
    return spawn(std::forward<F>(f), std::forward<Args>(args)...);
  }

  // f over every input, results in input order.
  template <class F, std::ranges::input_range Range>
  auto map(F f, Range&& inputs);

  // Lazily maps f over the inputs in member greenlets; iterating yields each result, in input order
  // (imap) or as each finishes (imap_unordered). At most `max_buffered` results wait unconsumed
  // (default: the pool's size, 1000 for a Group). An exception from f is rethrown when its result
  // is reached. Leaving the loop early kills what is still running.
  template <class F, std::ranges::input_range Range>
  auto imap(F f, Range&& inputs, std::size_t max_buffered = 0);
  template <class F, std::ranges::input_range Range>
  auto imap_unordered(F f, Range&& inputs, std::size_t max_buffered = 0);

  // Ready when the group is empty, for gevent::wait/iwait.
  detail::Linkable& linkable() { return empty_signal_; }

 protected:
  // Pool's hooks: a member needs a slot before it is added, and frees it when it leaves.
  virtual void take_slot() {}
  virtual void free_slot() {}
  virtual std::size_t default_buffer() const { return 1000; }

 private:
  template <class R>
  friend class MapIterable;

  // A member and its link to the member's death, notified synchronously as it dies.
  struct Member final : detail::Link {
    Member(Group& owner, const AnyGreenlet& member) : group(owner), greenlet(member) {}
    void notify(detail::Linkable&) override { group.on_member_died(greenlet); }
    Group& group;
    AnyGreenlet greenlet;
  };
  class EmptySignal final : public detail::Linkable {
   public:
    explicit EmptySignal(const Group& group) : group_(group) {}
    bool ready() const override { return group_.empty(); }
    using Linkable::notify_links;

   private:
    const Group& group_;
  };

  void on_member_died(AnyGreenlet greenlet);
  static const void* key(const AnyGreenlet& greenlet) { return &greenlet.linkable(); }

  std::unique_ptr<std::unordered_map<const void*, Member>> members_;
  EmptySignal empty_signal_{*this};
  Event failed_;
  std::exception_ptr first_failure_;
};

// A Group with at most `size` members at once: spawn and add wait for a free slot.
class Pool : public Group {
 public:
  // size 0 would block every spawn forever: throws std::invalid_argument instead.
  explicit Pool(std::size_t size);
  ~Pool() override;

  std::size_t pool_size() const { return size_; }
  std::size_t free_count() const { return slots_.counter(); }
  bool full() const { return free_count() == 0; }
  // Waits until a slot is free (up to `timeout`); returns free_count().
  std::size_t wait_available(MaybeDuration timeout = {}) { return slots_.wait(timeout); }

 protected:
  void take_slot() override { slots_.acquire(); }
  void free_slot() override { slots_.release(); }
  std::size_t default_buffer() const override { return size_; }

 private:
  std::size_t size_;
  Semaphore slots_;
};

// --- imap / imap_unordered ---

template <class R>
class MapIterable {
 public:
  using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  using iterator = detail::PullIterator<MapIterable, Value>;

  template <class F, class Range>
  MapIterable(Group& group, F f, Range&& inputs, bool ordered, std::size_t max_buffered)
      : group_(group), ordered_(ordered), room_(max_buffered) {
    feeder_ = gevent::spawn(
        [this, f = std::move(f),
         inputs = std::vector(std::ranges::begin(inputs), std::ranges::end(inputs))]() mutable {
          feed(f, inputs);
        });
  }
  MapIterable(const MapIterable&) = delete;
  MapIterable& operator=(const MapIterable&) = delete;
  // Tasks refer to this object: they are all dead before it goes. An exception thrown at the
  // caller while it waits for them here (a kill, a Timeout) cannot leave a destructor: it is
  // thrown again at the caller's next switch point.
  ~MapIterable() {
    std::exception_ptr interrupted;
    stop(feeder_, interrupted);
    for (auto& [index, task] : running_) stop(task.greenlet, interrupted);
    if (interrupted) Hub::current().current_greenlet().throw_into(interrupted);
  }

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  friend iterator;

  // What a task leaves behind: its value or the exception it threw.
  struct Outcome {
    std::optional<Value> value;
    std::exception_ptr exception;
  };

  // A running task, and its link to the task's death: a task killed before it could record
  // an outcome (even before it started) records its GreenletExit there.
  struct Task final : detail::Link {
    Task(MapIterable& iterable, std::size_t position, Greenlet<void> task)
        : owner(iterable), index(position), greenlet(std::move(task)) {
      greenlet.linkable().rawlink(*this);
    }
    void notify(detail::Linkable&) override { owner.task_died(index, greenlet); }
    MapIterable& owner;
    std::size_t index;
    Greenlet<void> greenlet;
  };

  static void stop(const AnyGreenlet& greenlet, std::exception_ptr& interrupted) {
    greenlet.kill(nullptr, false);
    while (!greenlet.dead()) {
      try {
        greenlet.join();
      } catch (...) {
        if (!interrupted) interrupted = std::current_exception();
      }
    }
  }

  void task_died(std::size_t index, const AnyGreenlet& greenlet) {
    if (outcomes_.count(index)) return;
    const std::exception_ptr why = greenlet.exception();
    finished(index, Outcome{std::nullopt, why ? why : std::make_exception_ptr(GreenletExit())});
  }

  template <class F, class Input>
  void feed(F& f, std::vector<Input>& inputs) {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      room_.acquire();
      running_.try_emplace(i, *this, i,
                           group_.spawn([this, i, f, input = std::move(inputs[i])]() mutable {
                             finished(i, run(f, input));
                           }));
    }
    total_ = inputs.size();
    arrived_.set();
  }

  template <class F, class Input>
  static Outcome run(F& f, Input& input) {
    try {
      if constexpr (std::is_void_v<R>) {
        f(input);
        return Outcome{Value{}, nullptr};
      } else {
        return Outcome{f(input), nullptr};
      }
    } catch (const GreenletExit&) {
      throw;  // killed: the iteration is being abandoned
    } catch (...) {
      return Outcome{std::nullopt, std::current_exception()};
    }
  }

  void finished(std::size_t index, Outcome outcome) {
    outcomes_.emplace(index, std::move(outcome));
    done_.push_back(index);
    arrived_.set();
  }

  // The next result in the chosen order, or null at the end. Rethrows a task's exception.
  Value* next() {
    if (current_index_) {
      outcomes_.erase(*current_index_);
      running_.erase(*current_index_);
      room_.release();
      current_index_.reset();
    }
    for (;;) {
      if (total_ && yielded_ == *total_) return nullptr;
      if (auto index = take_ready()) return deliver(*index);
      arrived_.clear();
      arrived_.wait();
    }
  }

  std::optional<std::size_t> take_ready() {
    for (auto it = done_.begin(); it != done_.end(); ++it) {
      if (ordered_ && *it != yielded_) continue;
      const std::size_t index = *it;
      done_.erase(it);
      return index;
    }
    return std::nullopt;
  }

  Value* deliver(std::size_t index) {
    ++yielded_;
    current_index_ = index;
    Outcome& outcome = outcomes_.at(index);
    if (outcome.exception) std::rethrow_exception(outcome.exception);
    return &*outcome.value;
  }

  Group& group_;
  bool ordered_;
  Semaphore room_;
  Greenlet<void> feeder_;
  std::unordered_map<std::size_t, Task> running_;
  std::unordered_map<std::size_t, Outcome> outcomes_;
  std::deque<std::size_t> done_;
  Event arrived_;
  std::optional<std::size_t> total_;
  std::optional<std::size_t> current_index_;
  std::size_t yielded_ = 0;
};

template <class F, std::ranges::input_range Range>
auto Group::imap(F f, Range&& inputs, std::size_t max_buffered) {
  using R = std::invoke_result_t<F&, std::ranges::range_reference_t<Range>>;
  return MapIterable<R>(*this, std::move(f), std::forward<Range>(inputs), true,
                        max_buffered ? max_buffered : default_buffer());
}

template <class F, std::ranges::input_range Range>
auto Group::imap_unordered(F f, Range&& inputs, std::size_t max_buffered) {
  using R = std::invoke_result_t<F&, std::ranges::range_reference_t<Range>>;
  return MapIterable<R>(*this, std::move(f), std::forward<Range>(inputs), false,
                        max_buffered ? max_buffered : default_buffer());
}

template <class F, std::ranges::input_range Range>
auto Group::map(F f, Range&& inputs) {
  using R = std::invoke_result_t<F&, std::ranges::range_reference_t<Range>>;
  static_assert(!std::is_void_v<R>, "gevent: map needs a function that returns a value");
  std::vector<R> results;
  for (R& result : imap(std::move(f), std::forward<Range>(inputs)))
    results.push_back(std::move(result));
  return results;
}

}  // namespace gevent
