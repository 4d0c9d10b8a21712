#include "gevent/detail/timer_queue.hpp"

#include <time.h>

namespace gevent::detail {

Clock::time_point coarse_now() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return Clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

void TimerQueue::add(TimerNode& node, Clock::time_point deadline) {
  if (node.armed()) remove_at(node.heap_index);
  node.deadline = deadline;
  node.sequence = next_sequence_++;
  heap_.push_back(&node);
  node.heap_index = heap_.size() - 1;
  sift_up(node.heap_index);
}

void TimerQueue::cancel(TimerNode& node) {
  if (node.armed()) remove_at(node.heap_index);
}

TimerNode* TimerQueue::pop_expired(Clock::time_point now) {
  if (heap_.empty() || heap_.front()->deadline > now) return nullptr;
  TimerNode* node = heap_.front();
  remove_at(0);
  return node;
}

bool TimerQueue::before(std::size_t a, std::size_t b) const {
  const TimerNode& x = *heap_[a];
  const TimerNode& y = *heap_[b];
  return x.deadline < y.deadline || (x.deadline == y.deadline && x.sequence < y.sequence);
}

void TimerQueue::place(std::size_t index, TimerNode* node) {
  heap_[index] = node;
  node->heap_index = index;
}

void TimerQueue::sift_up(std::size_t index) {
  while (index > 0) {
    const std::size_t parent = (index - 1) / 2;
    if (!before(index, parent)) break;
    TimerNode* moving = heap_[index];
    place(index, heap_[parent]);
    place(parent, moving);
    index = parent;
  }
}

void TimerQueue::sift_down(std::size_t index) {
  for (;;) {
    const std::size_t left = 2 * index + 1;
    if (left >= heap_.size()) break;
    const std::size_t right = left + 1;
    const std::size_t child = right < heap_.size() && before(right, left) ? right : left;
    if (!before(child, index)) break;
    TimerNode* moving = heap_[index];
    place(index, heap_[child]);
    place(child, moving);
    index = child;
  }
}

void TimerQueue::remove_at(std::size_t index) {
  TimerNode* removed = heap_[index];
  removed->heap_index = TimerNode::npos;
  TimerNode* last = heap_.back();
  heap_.pop_back();
  if (index == heap_.size()) return;
  place(index, last);
  sift_up(index);
  sift_down(last->heap_index);
}

}  // namespace gevent::detail
