// Input placed so that its last byte is the last readable byte: the page after it is
// PROT_NONE, so a parser that reads one byte too far dies with SIGSEGV (picohttpparser's habit).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace gevent::testing {

class GuardedBuffer {
 public:
  // Room for inputs up to `capacity` bytes.
  explicit GuardedBuffer(std::size_t capacity) {
    std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    data_size_ = (capacity + page - 1) / page * page;
    if (data_size_ == 0) data_size_ = page;
    map_size_ = data_size_ + page;
    void* m =
        ::mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<char*>(m);
    if (::mprotect(base_ + data_size_, page, PROT_NONE) != 0) throw std::runtime_error("mprotect");
  }
  ~GuardedBuffer() { ::munmap(base_, map_size_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  // Copies `input` to end exactly at the guard page; returns the copy.
  std::string_view place(std::string_view input) {
    if (input.size() > data_size_) throw std::length_error("input larger than the buffer");
    char* start = base_ + data_size_ - input.size();
    if (!input.empty()) std::memcpy(start, input.data(), input.size());
    return {start, input.size()};
  }

 private:
  char* base_ = nullptr;
  std::size_t data_size_ = 0;
  std::size_t map_size_ = 0;
};

}  // namespace gevent::testing
