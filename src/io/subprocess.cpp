// subprocess::Popen and the run/call helpers.
#include "gevent/subprocess.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <mutex>
#include <system_error>

#include "gevent/loop.hpp"
#include "io/subprocess_spawn.hpp"
#include "io/subprocess_state.hpp"
#include "sys/libc.hpp"

namespace gevent::subprocess {
namespace {

std::string command_line(const std::vector<std::string>& cmd) {
  std::string line;
  for (const auto& arg : cmd) line += (line.empty() ? "" : " ") + arg;
  return line;
}

std::string seconds(Duration d) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", std::chrono::duration<double>(d).count());
  return text;
}

std::string exit_description(int returncode) {
  if (returncode < 0) return "died with signal " + std::to_string(-returncode);
  return "returned non-zero exit status " + std::to_string(returncode);
}

// Children whose Popen went before they were reaped (Python's subprocess._active): reaped
// when a later Popen is made, so they do not stay zombies.
class Orphans {
 public:
  void add(pid_t pid) {
    std::lock_guard lock(mutex_);
    pids_.push_back(pid);
  }
  void reap() {
    std::lock_guard lock(mutex_);
    std::erase_if(pids_, [](pid_t pid) {
      int status = 0;
      const pid_t reaped = sys::waitpid(pid, &status, WNOHANG);
      if (reaped == 0 || (reaped < 0 && errno == EINTR)) return false;
      if (reaped < 0) loop::take_reaped_status(pid);  // libev's default loop reaped it
      return true;
    });
  }

 private:
  std::mutex mutex_;
  std::vector<pid_t> pids_;
};

Orphans& orphans() {
  static auto* instance = new Orphans;  // never destroyed: a Popen may go during exit
  return *instance;
}

std::shared_ptr<FileObjectPosix> file_object(detail::UniqueFd fd, std::size_t bufsize) {
  if (fd.get() < 0) return nullptr;
  auto file =
      std::make_shared<FileObjectPosix>(fd.get(), FileObjectOptions{.buffer_size = bufsize});
  fd.release();
  return file;
}

}  // namespace

TimeoutExpired::TimeoutExpired(std::vector<std::string> cmd, Duration timeout, std::string output,
                               std::string stderr)
    : SubprocessError("Command '" + command_line(cmd) + "' timed out after " + seconds(timeout) +
                      " seconds"),
      cmd_(std::move(cmd)),
      timeout_(timeout),
      output_(std::move(output)),
      stderr_(std::move(stderr)) {}

CalledProcessError::CalledProcessError(int returncode, std::vector<std::string> cmd,
                                       std::string output, std::string stderr)
    : SubprocessError("Command '" + command_line(cmd) + "' " + exit_description(returncode)),
      returncode_(returncode),
      cmd_(std::move(cmd)),
      output_(std::move(output)),
      stderr_(std::move(stderr)) {}

void CompletedProcess::check_returncode() const {
  if (returncode != 0) throw CalledProcessError(returncode, args, stdout, stderr);
}

Popen::Popen(std::vector<std::string> args, Options options) {
  orphans().reap();
  detail::SpawnedChild child = detail::spawn_process(args, options);
  state_ = std::make_unique<detail::PopenState>(std::move(args), child.pid);
  state_->stdin_pipe = file_object(std::move(child.stdin_pipe), options.bufsize);
  state_->stdout_pipe = file_object(std::move(child.stdout_pipe), options.bufsize);
  state_->stderr_pipe = file_object(std::move(child.stderr_pipe), options.bufsize);
}

Popen::Popen(Popen&&) noexcept = default;

Popen::~Popen() {
  if (!state_) return;
  for (auto& helper : state_->helpers) helper.kill(nullptr, /*block=*/false);
  if (state_->returncode) return;
  try {
    if (!poll()) orphans().add(state_->child.pid());
  } catch (const std::exception&) {  // reaped elsewhere: nothing left to reap
  }
}

const std::vector<std::string>& Popen::args() const { return state_->args; }
pid_t Popen::pid() const { return state_->child.pid(); }
FileObjectPosix* Popen::stdin() const { return state_->stdin_pipe.get(); }
FileObjectPosix* Popen::stdout() const { return state_->stdout_pipe.get(); }
FileObjectPosix* Popen::stderr() const { return state_->stderr_pipe.get(); }
std::optional<int> Popen::returncode() const { return state_->returncode; }

std::optional<int> Popen::poll() {
  if (!state_->returncode) {
    if (const auto status = state_->child.poll())
      state_->returncode = gevent::detail::returncode_of(*status);
  }
  return state_->returncode;
}

int Popen::wait(MaybeDuration timeout) {
  if (state_->returncode) return *state_->returncode;
  const auto status = state_->child.wait(timeout);
  if (!status) throw TimeoutExpired(state_->args, timeout.value());
  state_->returncode = gevent::detail::returncode_of(*status);
  return *state_->returncode;
}

// A child reaped already may have given its pid to another process: leave it alone.
void Popen::send_signal(int signum) {
  if (poll()) return;
  if (sys::kill(pid(), signum) < 0 && errno != ESRCH)
    throw std::system_error(
        errno, std::system_category(),
        "gevent::subprocess::Popen::send_signal(" + std::to_string(signum) + ")");
}

void Popen::terminate() { send_signal(SIGTERM); }
void Popen::kill() { send_signal(SIGKILL); }

namespace {

void require_inherit(const Stream& stream, const char* what) {
  if (stream.kind() != Stream::Kind::inherit) throw std::invalid_argument(what);
}

// Runs body(process); on a timeout, kills the child and waits for it before rethrowing; on
// anything else (a kill, a gevent::Timeout), kills it without waiting.
template <class Body>
auto with_child(Popen& process, Body body) {
  try {
    return body(process);
  } catch (const TimeoutExpired&) {
    process.kill();
    process.wait();
    throw;
  } catch (...) {
    process.kill();
    throw;
  }
}

}  // namespace

CompletedProcess run(std::vector<std::string> args, RunOptions options) {
  if (options.input) {
    require_inherit(options.popen.stdin, "gevent::subprocess::run: stdin and input together");
    options.popen.stdin = PIPE;
  }
  if (options.capture_output) {
    require_inherit(options.popen.stdout, "gevent::subprocess::run: stdout and capture_output");
    require_inherit(options.popen.stderr, "gevent::subprocess::run: stderr and capture_output");
    options.popen.stdout = options.popen.stderr = PIPE;
  }
  Popen process(args, options.popen);
  auto [out, err] = with_child(process, [&](Popen& p) {
    return p.communicate(options.input.value_or(""), options.timeout);
  });
  CompletedProcess done{std::move(args), *process.returncode(), std::move(out), std::move(err)};
  if (options.check) done.check_returncode();
  return done;
}

int call(std::vector<std::string> args, Options options, MaybeDuration timeout) {
  Popen process(std::move(args), std::move(options));
  return with_child(process, [&](Popen& p) { return p.wait(timeout); });
}

void check_call(std::vector<std::string> args, Options options, MaybeDuration timeout) {
  if (const int returncode = call(args, std::move(options), timeout))
    throw CalledProcessError(returncode, std::move(args));
}

std::string check_output(std::vector<std::string> args, Options options,
                         std::optional<std::string> input, MaybeDuration timeout) {
  require_inherit(options.stdout, "gevent::subprocess::check_output: stdout is its own");
  options.stdout = PIPE;
  RunOptions run_options{
      .popen = std::move(options), .input = std::move(input), .timeout = timeout, .check = true};
  return run(std::move(args), std::move(run_options)).stdout;
}

}  // namespace gevent::subprocess
