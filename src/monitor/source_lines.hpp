// File and line of code addresses in this process, from their DWARF line tables (libdw, loaded
// with dlopen as libunwind is: without libdw1, or for code built without -g, there are none;
// separate debug files and debuginfod are not looked at).
#pragma once

#include <cstdint>
#include <string>

namespace gevent::detail {

// One look-up session: it keeps what it has read of each object's debug information, and the
// files it opened, until it goes. Use one per report or run info, on one thread.
class SourceLines {
 public:
  SourceLines();
  ~SourceLines();
  SourceLines(const SourceLines&) = delete;
  SourceLines& operator=(const SourceLines&) = delete;

  // "path/file.cpp:42" for the instruction at `address`, or empty.
  std::string at(std::uint64_t address);

 private:
  struct Session;
  Session* session_ = nullptr;
};

}  // namespace gevent::detail
