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

}  // namespace gevent::detail
