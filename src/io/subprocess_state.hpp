// What a subprocess::Popen holds, shared by its implementation files.
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gevent/fileobject.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/subprocess.hpp"
#include "io/child_watch.hpp"

namespace gevent::subprocess::detail {

// communicate()'s progress, shared with the greenlets that do its reading and writing, and
// kept across a TimeoutExpired so that the next call carries on.
struct Communication {
  std::shared_ptr<FileObjectPosix> stdin_pipe, stdout_pipe, stderr_pipe;
  std::string input;
  std::size_t input_taken = 0;  // handed to the stdin file object so far
  bool input_done = false;      // all written and stdin closed
  std::string output, errors;
  bool output_done = false, errors_done = false;
  std::error_code failure;  // the first error of a reader or the writer
};

struct PopenState {
  PopenState(std::vector<std::string> args_, pid_t pid_) : args(std::move(args_)), child(pid_) {}

  std::vector<std::string> args;
  gevent::detail::ChildWatch child;
  std::optional<int> returncode;
  std::shared_ptr<FileObjectPosix> stdin_pipe, stdout_pipe, stderr_pipe;
  std::shared_ptr<Communication> communication;  // once communicate() was called
  std::vector<Greenlet<void>> helpers;           // its greenlets, until joined
};

// Runs communicate()'s greenlets until they are done or `deadline` passes; returns whether
// they are done. Greenlets interrupted (by the deadline, a Timeout, a kill) are killed
// without waiting and joined by the next call.
bool run_communication(PopenState& state,
                       std::optional<gevent::detail::Clock::time_point> deadline);

}  // namespace gevent::subprocess::detail
