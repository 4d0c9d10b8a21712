// Starting a child process for subprocess::Popen.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "gevent/subprocess.hpp"

namespace gevent::subprocess::detail {

// An fd closed when this goes.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// A started child and this side of its pipes (empty where a stream is not a PIPE).
struct SpawnedChild {
  pid_t pid = -1;
  UniqueFd stdin_pipe;
  UniqueFd stdout_pipe;
  UniqueFd stderr_pipe;
};

// Starts the child as the header describes (posix_spawn). Bad arguments:
// std::invalid_argument; a child that cannot be started: std::system_error.
SpawnedChild spawn_process(const std::vector<std::string>& args, const Options& options);

}  // namespace gevent::subprocess::detail
