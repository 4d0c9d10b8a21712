// A doubly linked list threaded through its elements: no allocation, O(1) removal. An
// element holds a ListHook<T> per list it can be in.
#pragma once

namespace gevent::detail {

template <class T>
struct ListHook {
  T* prev = nullptr;
  T* next = nullptr;
};

template <class T, ListHook<T> T::*hook>
class IntrusiveList {
 public:
  void push_front(T& element) {
    ListHook<T>& h = element.*hook;
    h.prev = nullptr;
    h.next = head_;
    if (head_) (head_->*hook).prev = &element;
    head_ = &element;
  }

  // `element` must be in this list.
  void erase(T& element) {
    ListHook<T>& h = element.*hook;
    if (h.prev)
      (h.prev->*hook).next = h.next;
    else
      head_ = h.next;
    if (h.next) (h.next->*hook).prev = h.prev;
    h.prev = h.next = nullptr;
  }

  T* front() const { return head_; }
  static T* next(const T& element) { return (element.*hook).next; }

 private:
  T* head_ = nullptr;
};

// The same, with a tail: elements leave from the front in the order they were pushed back.
template <class T, ListHook<T> T::*hook>
class IntrusiveQueue {
 public:
  void push_back(T& element) {
    ListHook<T>& h = element.*hook;
    h.prev = tail_;
    h.next = nullptr;
    if (tail_)
      (tail_->*hook).next = &element;
    else
      head_ = &element;
    tail_ = &element;
  }

  // `element` must be in this queue.
  void erase(T& element) {
    ListHook<T>& h = element.*hook;
    if (h.prev)
      (h.prev->*hook).next = h.next;
    else
      head_ = h.next;
    if (h.next)
      (h.next->*hook).prev = h.prev;
    else
      tail_ = h.prev;
    h.prev = h.next = nullptr;
  }

  T* pop_front() {
    T* first = head_;
    if (first) erase(*first);
    return first;
  }

  T* front() const { return head_; }
  bool empty() const { return head_ == nullptr; }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
};

}  // namespace gevent::detail
