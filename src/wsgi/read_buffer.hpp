// A connection's input bytes: [begin, end) received and not yet used, then free space.
//
// The request head's views point into it, so while a request is served its head stays where
// it is: compact() moves the unused bytes down to the pin (the end of the head), never over
// it, and the buffer only grows between requests.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace gevent::pywsgi::detail {

class ReadBuffer {
 public:
  explicit ReadBuffer(std::size_t capacity)
      : data_(std::make_unique_for_overwrite<char[]>(capacity)), capacity_(capacity) {}

  std::string_view unused() const { return {data_.get() + begin_, end_ - begin_}; }
  bool empty() const { return begin_ == end_; }
  void consume(std::size_t n) { begin_ += n; }
  std::span<char> space() { return {data_.get() + end_, capacity_ - end_}; }
  void commit(std::size_t n) { end_ += n; }
  std::size_t capacity() const { return capacity_; }

  // Nothing before `pin_offset` may move (the current request's head).
  void pin(std::size_t pin_offset) { pin_ = pin_offset; }
  std::size_t offset_of(const char* p) const { return static_cast<std::size_t>(p - data_.get()); }
  std::size_t begin_offset() const { return begin_; }

  // Moves the unused bytes down to the pin, making the free space as large as it can be.
  void compact() {
    if (begin_ == pin_) return;
    const std::size_t size = end_ - begin_;
    std::memmove(data_.get() + pin_, data_.get() + begin_, size);
    begin_ = pin_;
    end_ = pin_ + size;
  }

  // Drops every byte (a new connection).
  void clear() { begin_ = end_ = pin_ = 0; }

  // Between requests only (no view into the buffer is alive): when every byte is used, the
  // next ones go to the start again, a cache line still warm, not the next one along.
  void rewind_if_empty() {
    if (begin_ == end_) begin_ = end_ = pin_ = 0;
  }

  // Between requests only (no view into the buffer is alive): a buffer of `capacity` bytes
  // holding the unused bytes at its start.
  void reallocate(std::size_t capacity) {
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    const std::size_t size = end_ - begin_;
    std::memcpy(bigger.get(), data_.get() + begin_, size);
    data_ = std::move(bigger);
    capacity_ = capacity;
    begin_ = pin_ = 0;
    end_ = size;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t pin_ = 0;
};

}  // namespace gevent::pywsgi::detail
