// Bytes waiting to be sent: response heads and bodies, appended a piece at a time.
//
// A response head is fifteen or so small pieces. std::string's append is an out-of-line call
// for each, with a strlen for every literal: callgrind counted them at a quarter of the
// instructions of a keep-alive request. Here appending is an inline copy, and a literal's
// length is known where it is appended.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace gevent::pywsgi::detail {

class OutputBuffer {
 public:
  [[gnu::always_inline]] void append(std::string_view bytes) {
    if (bytes.size() > capacity_ - size_) grow(bytes.size());
    if (!bytes.empty()) std::memcpy(data_.get() + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
  }
  [[gnu::always_inline]] OutputBuffer& operator+=(std::string_view bytes) {
    append(bytes);
    return *this;
  }

  std::string_view view() const { return {data_.get(), size_}; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }

 private:
  [[gnu::noinline]] void grow(std::size_t more) {
    std::size_t capacity = capacity_ == 0 ? 512 : capacity_ * 2;
    while (capacity - size_ < more) capacity *= 2;
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace gevent::pywsgi::detail
