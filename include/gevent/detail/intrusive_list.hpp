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
  void push_front(T& element) { insert_after(nullptr, element); }

  // Links `element` right after `position` (null: first).
  void insert_after(T* position, T& element) {
    ListHook<T>& h = element.*hook;
    h.prev = position;
    h.next = position ? (position->*hook).next : head_;
    if (h.next) (h.next->*hook).prev = &element;
    if (position)
      (position->*hook).next = &element;
    else
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
  static T* prev(const T& element) { return (element.*hook).prev; }

 private:
  T* head_ = nullptr;
};

// An IntrusiveList with a tail: elements leave from the front in the order pushed back.
template <class T, ListHook<T> T::*hook>
class IntrusiveQueue {
 public:
  void push_back(T& element) {
    list_.insert_after(tail_, element);
    tail_ = &element;
  }
  // `element` must be in this queue.
  void erase(T& element) {
    if (tail_ == &element) tail_ = List::prev(element);
    list_.erase(element);
  }
  T* pop_front() {
    T* first = list_.front();
    if (first) erase(*first);
    return first;
  }
  T* front() const { return list_.front(); }
  bool empty() const { return list_.front() == nullptr; }

 private:
  using List = IntrusiveList<T, hook>;
  List list_;
  T* tail_ = nullptr;
};

}  // namespace gevent::detail
