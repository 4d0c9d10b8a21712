// gevent.queue: Queue (joinable), SimpleQueue, LifoQueue, PriorityQueue, Channel.
//
//   gevent::Queue<std::string> jobs{100};   // put() blocks while 100 items wait
//   gevent::spawn([&] {
//     for (;;) {
//       handle(jobs.get());                 // blocks only this greenlet
//       jobs.task_done();
//     }
//   });
//   jobs.put("first");
//   jobs.join();                            // until every item put had its task_done()
//
// Blocked getters, and blocked putters, are served first come, first served: the greenlet
// woken for an item (or a free slot) owns it until it runs, and a non-blocking call succeeds
// only when a blocking one would not wait, so neither jumps that line. A greenlet killed or
// timed out while it waits takes nothing with it: an item is only removed by the greenlet
// that returns it, and a turn it no longer needs goes to the next in line.
// Queues are not copyable or movable: share them by reference.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <stdexcept>
#include <utility>
#include <vector>

#include "gevent/detail/link.hpp"
#include "gevent/detail/wait_list.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/duration.hpp"

namespace gevent {

// put() could not place its item (no room; for a Channel, no getter took it), either at once
// when not blocking or within its timeout (gevent.queue.Full).
class Full : public std::runtime_error {
 public:
  Full() : std::runtime_error("gevent::Full: the queue is full") {}
};

// get() or peek() found no item, either at once when not blocking or within its timeout
// (gevent.queue.Empty).
class Empty : public std::runtime_error {
 public:
  Empty() : std::runtime_error("gevent::Empty: the queue is empty") {}
};

// The queue was shut down: put() always throws it, get() once no item is left.
class ShutDown : public std::runtime_error {
 public:
  ShutDown() : std::runtime_error("gevent::ShutDown: the queue was shut down") {}
};

namespace detail {

// Readiness for wait()/iwait(): whether the owner's get() would return at once.
template <class Owner>
class GetReadyLinkable final : public Linkable {
 public:
  explicit GetReadyLinkable(const Owner& owner) : owner_(owner) {}
  bool ready() const override { return owner_.ready(); }
  using Linkable::notify_links;

 private:
  const Owner& owner_;
};

// The item stores of the queues, which decide the order items come out in. Each offers
// push(item), pop() (moves the next item out), next() (the next item, left in place),
// size(), empty() and clear().
template <class Sequence>
class StoredItems {
 public:
  using value_type = typename Sequence::value_type;
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  void clear() { items_.clear(); }

 protected:
  value_type take_back() {
    value_type item = std::move(items_.back());
    items_.pop_back();
    return item;
  }

  Sequence items_;
};

// First in, first out.
template <class T>
class FifoItems : public StoredItems<std::deque<T>> {
 public:
  void push(T item) { this->items_.push_back(std::move(item)); }
  const T& next() const { return this->items_.front(); }
  T pop() {
    T item = std::move(this->items_.front());
    this->items_.pop_front();
    return item;
  }
};

// Last in, first out.
template <class T>
class LifoItems : public StoredItems<std::vector<T>> {
 public:
  void push(T item) { this->items_.push_back(std::move(item)); }
  const T& next() const { return this->items_.back(); }
  T pop() { return this->take_back(); }
};

// Least first by `Compare`, as Python's heapq-based PriorityQueue (equal items in no
// particular order).
template <class T, class Compare>
class PriorityItems : public StoredItems<std::vector<T>> {
 public:
  void push(T item) {
    this->items_.push_back(std::move(item));
    std::push_heap(this->items_.begin(), this->items_.end(), comes_later());
  }
  const T& next() const { return this->items_.front(); }
  T pop() {
    std::pop_heap(this->items_.begin(), this->items_.end(), comes_later());
    return this->take_back();
  }

 private:
  // The std heap algorithms put the greatest item first; the reversed order puts the least.
  auto comes_later() const {
    return [this](const T& a, const T& b) { return compare_(b, a); };
  }

  [[no_unique_address]] Compare compare_;
};

}  // namespace detail

// The queue machinery, whatever the order: Queue, LifoQueue and PriorityQueue are this with
// their item store. Every queue is joinable (as in gevent 1.5+): put() counts an unfinished
// task, task_done() finishes one, join() waits until none is left.
template <class Items>
class BasicQueue {
 public:
  using value_type = typename Items::value_type;

  // maxsize 0: unbounded.
  explicit BasicQueue(std::size_t maxsize = 0) : maxsize_(maxsize) {
    getters_.on_unclaimed(&tell_ready, this);
  }
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;

  // Adds `item`, first waiting (if `block`, up to `timeout`) for room. Throws Full when there
  // is none in time (at once when not blocking), ShutDown once shutdown() was called. The
  // item is dropped when it throws.
  void put(value_type item, bool block = true, MaybeDuration timeout = {}) {
    throw_if_shut_down();
    const auto free_slots = [this] { return shut_down_ ? detail::kUnlimited : room(); };
    if (!putters_.take_turn(free_slots, block, timeout, detail::topic_of("Queue.put", *this)))
      throw Full();
    throw_if_shut_down();
    items_.push(std::move(item));
    ++unfinished_tasks_;
    if (!getters_.wake_one()) readiness_.notify_links();  // else the item is the woken getter's
  }
  void put_nowait(value_type item) { put(std::move(item), false); }

  // Removes and returns the next item, first waiting (if `block`, up to `timeout`) for one.
  // Throws Empty when none comes in time (at once when not blocking), ShutDown when the
  // queue was shut down and no item is left.
  value_type get(bool block = true, MaybeDuration timeout = {}) {
    wait_for_item(block, timeout);
    value_type item = items_.pop();
    putters_.wake_one();
    return item;
  }
  value_type get_nowait() { return get(false); }

  // The next item, left in the queue; waits and throws as get() does. The reference is
  // valid until the queue next changes.
  const value_type& peek(bool block = true, MaybeDuration timeout = {}) {
    wait_for_item(block, timeout);
    getters_.wake_one();  // the item is still there for the next getter in line
    return items_.next();
  }
  const value_type& peek_nowait() { return peek(false); }

  std::size_t qsize() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  bool full() const { return maxsize_ > 0 && items_.size() >= maxsize_; }
  std::size_t maxsize() const { return maxsize_; }
  // Whether get() would return (or throw ShutDown) at once: an item is there that no
  // greenlet in line, or woken for it, comes first for.
  bool ready() const { return getters_.admits(items_available()); }

  // Marks one item put earlier as processed. Throws std::logic_error when every item put
  // has been marked already.
  void task_done() {
    if (unfinished_tasks_ == 0)
      throw std::logic_error("gevent: task_done() called more times than items were put");
    finish_tasks(1);
  }
  // Waits (up to `timeout`) until every item put has had its task_done(); false on timeout.
  bool join(MaybeDuration timeout = {}) {
    const auto all_done = [this] { return unfinished_tasks_ == 0 ? detail::kUnlimited : 0; };
    return joiners_.take_turn(all_done, true, timeout, detail::topic_of("Queue.join", *this));
  }
  std::size_t unfinished_tasks() const { return unfinished_tasks_; }

  // From now on put() throws ShutDown, and get() does once the queue is empty. `immediate`
  // also discards the items left, counting them as done for join(). Wakes every blocked
  // putter and getter, to throw ShutDown or take an item that is left.
  void shutdown(bool immediate = false) {
    shut_down_ = true;
    if (immediate) discard_items();
    getters_.wake_all();
    putters_.wake_all();
    readiness_.notify_links();
  }
  bool is_shutdown() const { return shut_down_; }

  // For gevent::wait/iwait: ready when ready() holds.
  detail::Linkable& linkable() { return readiness_; }

 private:
  std::size_t room() const {
    if (maxsize_ == 0) return detail::kUnlimited;
    return maxsize_ - std::min(maxsize_, items_.size());
  }

  std::size_t items_available() const { return shut_down_ ? detail::kUnlimited : items_.size(); }
  static void tell_ready(void* queue) {
    static_cast<BasicQueue*>(queue)->readiness_.notify_links();
  }

  void throw_if_shut_down() const {
    if (shut_down_) throw ShutDown();
  }

  // Returns once an item is there for this greenlet to take.
  void wait_for_item(bool block, MaybeDuration timeout) {
    const auto items = [this] { return items_available(); };
    if (!getters_.take_turn(items, block, timeout, detail::topic_of("Queue.get", *this)))
      throw Empty();
    if (items_.empty()) throw ShutDown();
  }

  void finish_tasks(std::size_t count) {
    unfinished_tasks_ -= count;
    if (unfinished_tasks_ == 0) joiners_.wake_all();
  }

  void discard_items() {
    const std::size_t discarded = items_.size();
    items_.clear();
    finish_tasks(std::min(discarded, unfinished_tasks_));
  }

  Items items_;
  std::size_t maxsize_;
  std::size_t unfinished_tasks_ = 0;
  bool shut_down_ = false;
  detail::WaitList getters_;
  detail::WaitList putters_;
  detail::WaitList joiners_;
  detail::GetReadyLinkable<BasicQueue> readiness_{*this};
};

// First in, first out (gevent.queue.Queue, which is also its JoinableQueue).
template <class T>
class Queue : public BasicQueue<detail::FifoItems<T>> {
 public:
  using BasicQueue<detail::FifoItems<T>>::BasicQueue;
};

template <class T>
using JoinableQueue = Queue<T>;

// Last in, first out (gevent.queue.LifoQueue).
template <class T>
class LifoQueue : public BasicQueue<detail::LifoItems<T>> {
 public:
  using BasicQueue<detail::LifoItems<T>>::BasicQueue;
};

// The least item by `Compare` first (gevent.queue.PriorityQueue). Put std::pair or a struct
// with its own ordering to carry a priority beside a payload.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public BasicQueue<detail::PriorityItems<T, Compare>> {
 public:
  using BasicQueue<detail::PriorityItems<T, Compare>>::BasicQueue;
};

// Unbounded, first in, first out, with no task tracking to use (Python's queue.SimpleQueue).
template <class T>
class SimpleQueue : private BasicQueue<detail::FifoItems<T>> {
  using Core = BasicQueue<detail::FifoItems<T>>;

 public:
  using typename Core::value_type;

  SimpleQueue() = default;

  using Core::empty;
  using Core::get;
  using Core::get_nowait;
  using Core::linkable;
  using Core::peek;
  using Core::peek_nowait;
  using Core::put;
  using Core::put_nowait;
  using Core::qsize;
  using Core::ready;
};

// A queue of size zero (gevent.queue.Channel): put() waits until a getter has taken its
// item, get() waits until a putter offers one. Nothing is stored beyond the items being
// handed over.
template <class T>
class Channel {
 public:
  using value_type = T;

  Channel() { getters_.on_unclaimed(&tell_ready, this); }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Offers `item` and waits (up to `timeout`) until a getter has taken it; throws Full,
  // taking the offer back, if none did in time. Not blocking: succeeds only when a getter
  // is waiting already, and hands the item over without waiting for that getter to run (if
  // it leaves first, the next get() receives the item).
  void put(T item, bool block = true, MaybeDuration timeout = {}) {
    if (!block) return hand_to_waiting_getter(std::move(item));
    detail::Waiter taken(detail::topic_of("Channel.put", *this));
    const auto offer = offers_.insert(offers_.end(), Offer{std::move(item), &taken});
    WithdrawUnlessTaken withdraw{offers_, offer, taken};
    announce_offer();
    if (!taken.wait(timeout)) throw Full();
  }
  void put_nowait(T item) { put(std::move(item), false); }

  // Takes the item of the longest-waiting putter, first waiting (if `block`, up to
  // `timeout`) for one; throws Empty when none comes in time.
  T get(bool block = true, MaybeDuration timeout = {}) {
    CountWhileHere counting{waiting_getters_};
    const auto offers = [this] { return offers_.size(); };
    if (!getters_.take_turn(offers, block, timeout, detail::topic_of("Channel.get", *this)))
      throw Empty();
    return take_first_offer();
  }
  T get_nowait() { return get(false); }

  // Greenlets in get() now, and items offered but not yet taken (gevent's getters and
  // putters); balance() is the second minus the first.
  std::size_t getters() const { return waiting_getters_; }
  std::size_t putters() const { return offers_.size(); }
  std::ptrdiff_t balance() const {
    return static_cast<std::ptrdiff_t>(putters()) - static_cast<std::ptrdiff_t>(getters());
  }
  // Whether get() would return at once: an offer is there that no greenlet in line, or woken
  // for it, comes first for.
  bool ready() const { return getters_.admits(offers_.size()); }

  detail::Linkable& linkable() { return readiness_; }

 private:
  struct Offer {
    T item;
    detail::Waiter* putter;  // woken once a getter took the item; null after put_nowait
  };
  using Offers = std::list<Offer>;

  struct WithdrawUnlessTaken {
    Offers& offers;
    typename Offers::iterator offer;
    const detail::Waiter& taken;
    ~WithdrawUnlessTaken() {
      if (!taken.woken()) offers.erase(offer);
    }
  };

  struct CountWhileHere {
    explicit CountWhileHere(std::size_t& count) : count_(count) { ++count_; }
    ~CountWhileHere() { --count_; }
    std::size_t& count_;
  };

  void hand_to_waiting_getter(T item) {
    if (getters_.empty()) throw Full();  // no getter is waiting that nobody serves yet
    offers_.push_back(Offer{std::move(item), nullptr});
    announce_offer();
  }

  void announce_offer() {
    if (!getters_.wake_one()) readiness_.notify_links();  // else the offer is the getter's
  }
  static void tell_ready(void* channel) {
    static_cast<Channel*>(channel)->readiness_.notify_links();
  }

  T take_first_offer() {
    Offer& offer = offers_.front();
    T item = std::move(offer.item);
    if (offer.putter) offer.putter->wake();
    offers_.pop_front();
    return item;
  }

  Offers offers_;
  std::size_t waiting_getters_ = 0;
  detail::WaitList getters_;
  detail::GetReadyLinkable<Channel> readiness_{*this};
};

}  // namespace gevent
