// Popen::communicate: greenlets that write stdin and read stdout and stderr at once.
#include <algorithm>
#include <string_view>

#include "io/subprocess_state.hpp"

namespace gevent::subprocess {
namespace detail {
namespace {

using gevent::detail::Clock;

constexpr std::size_t kInputChunk = 64 * 1024;
constexpr std::size_t kOutputChunk = 64 * 1024;

void record(Communication& c, std::error_code ec) {
  if (ec && !c.failure) c.failure = ec;
}

// A child that exits without reading all of its input is no error (as in Python).
void write_input(const std::shared_ptr<Communication>& c) {
  FileObjectPosix& file = *c->stdin_pipe;
  std::error_code ec;
  while (!ec && c->input_taken < c->input.size()) {
    const auto chunk = std::string_view(c->input).substr(c->input_taken, kInputChunk);
    c->input_taken += chunk.size();  // in the file's buffer from here on, even if interrupted
    file.write(chunk, ec);
  }
  std::error_code closing;
  file.close(closing);
  if (!ec) ec = closing;
  if (ec != std::errc::broken_pipe) record(*c, ec);
  c->input_done = true;
}

// Reads `file` to its end into `into`, keeping what it read if interrupted.
void read_output(const std::shared_ptr<Communication>& c, FileObjectPosix& file, std::string& into,
                 bool& done) {
  std::string chunk(kOutputChunk, '\0');
  std::error_code ec;
  while (const std::size_t n = file.readinto(chunk, ec)) into.append(chunk.data(), n);
  record(*c, ec);
  std::error_code ignored;
  file.close(ignored);
  done = true;
}

void spawn_helpers(PopenState& state) {
  const auto c = state.communication;
  if (c->stdin_pipe && !c->input_done) state.helpers.push_back(spawn([c] { write_input(c); }));
  if (c->stdout_pipe && !c->output_done)
    state.helpers.push_back(
        spawn([c] { read_output(c, *c->stdout_pipe, c->output, c->output_done); }));
  if (c->stderr_pipe && !c->errors_done)
    state.helpers.push_back(
        spawn([c] { read_output(c, *c->stderr_pipe, c->errors, c->errors_done); }));
}

MaybeDuration until(std::optional<Clock::time_point> deadline) {
  if (!deadline) return {};
  return std::max(Duration::zero(), Duration(*deadline - Clock::now()));
}

}  // namespace

bool run_communication(PopenState& state, std::optional<Clock::time_point> deadline) {
  for (auto& leftover : state.helpers) leftover.join();  // killed when a call was interrupted
  state.helpers.clear();
  spawn_helpers(state);
  // Whatever ends this call early (the deadline, a Timeout, a kill) stops the helpers
  // without waiting for them; all they touch is the shared Communication.
  struct StopHelpers {
    std::vector<Greenlet<void>>& helpers;
    ~StopHelpers() {
      for (auto& helper : helpers) helper.kill(nullptr, /*block=*/false);
    }
  } stop{state.helpers};
  for (auto& helper : state.helpers)
    if (!helper.join(until(deadline))) return false;
  const std::vector<Greenlet<void>> finished = std::move(state.helpers);
  state.helpers.clear();
  for (const auto& helper : finished) helper.get();  // rethrows what a helper died of
  return true;
}

}  // namespace detail

std::pair<std::string, std::string> Popen::communicate(std::string_view input,
                                                       MaybeDuration timeout) {
  if (!input.empty() && !state_->stdin_pipe)
    throw std::invalid_argument("gevent::subprocess::Popen::communicate: input needs stdin=PIPE");
  std::optional<gevent::detail::Clock::time_point> deadline;
  if (timeout) deadline = gevent::detail::Clock::now() + timeout.value();
  if (!state_->communication) {
    auto c = std::make_shared<detail::Communication>();
    c->stdin_pipe = state_->stdin_pipe;
    c->stdout_pipe = state_->stdout_pipe;
    c->stderr_pipe = state_->stderr_pipe;
    c->input = input;
    state_->communication = std::move(c);
  }
  detail::Communication& c = *state_->communication;
  const auto expired = [&] {
    return TimeoutExpired(state_->args, timeout.value(), c.output, c.errors);
  };
  if (!detail::run_communication(*state_, deadline)) throw expired();
  if (c.failure) throw std::system_error(c.failure, "gevent::subprocess::Popen::communicate");
  const auto status = state_->child.wait(detail::until(deadline));
  if (!status) throw expired();
  state_->returncode = gevent::detail::returncode_of(*status);
  return {std::exchange(c.output, {}), std::exchange(c.errors, {})};
}

}  // namespace gevent::subprocess
