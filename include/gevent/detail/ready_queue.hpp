// The hub's run queue: greenlets to resume and callbacks to run, in FIFO order.
#pragma once

namespace gevent::detail {

struct ReadyNode {
  ReadyNode* next_ready = nullptr;
  void (*run_ready)(ReadyNode*) = nullptr;
};

class ReadyQueue {
 public:
  bool empty() const { return head_ == nullptr; }
  const ReadyNode* front() const { return head_; }
  void push(ReadyNode* node) {
    node->next_ready = nullptr;
    if (tail_)
      tail_->next_ready = node;
    else
      head_ = node;
    tail_ = node;
  }
  // Moves every node of `other` to the back of this queue, in order.
  void append(ReadyQueue& other) {
    if (!other.head_) return;
    if (tail_)
      tail_->next_ready = other.head_;
    else
      head_ = other.head_;
    tail_ = other.tail_;
    other.head_ = other.tail_ = nullptr;
  }
  ReadyNode* pop() {
    ReadyNode* node = head_;
    if (node) {
      head_ = node->next_ready;
      if (!head_) tail_ = nullptr;
    }
    return node;
  }

 private:
  ReadyNode* head_ = nullptr;
  ReadyNode* tail_ = nullptr;
};

}  // namespace gevent::detail
