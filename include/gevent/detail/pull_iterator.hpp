// An input iterator over a source that hands out one element at a time, possibly waiting
// for it: `T* Source::next()` returns the next element, or null at the end. Dereferencing
// gives the element itself, so `for (auto& x : source)` reads as over a container.
#pragma once

#include <cstddef>
#include <iterator>

namespace gevent::detail {

template <class Source, class T>
class PullIterator {
 public:
  using value_type = T;
  using difference_type = std::ptrdiff_t;

  PullIterator() = default;
  explicit PullIterator(Source* source) : source_(source) { advance(); }

  T& operator*() const { return *current_; }
  PullIterator& operator++() {
    advance();
    return *this;
  }
  void operator++(int) { advance(); }
  friend bool operator==(const PullIterator& it, std::default_sentinel_t) { return !it.current_; }

 private:
  void advance() { current_ = source_->next(); }

  Source* source_ = nullptr;
  T* current_ = nullptr;
};

}  // namespace gevent::detail
