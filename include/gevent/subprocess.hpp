// gevent.subprocess: child processes whose waits suspend only the calling greenlet.
//
//   namespace sp = gevent::subprocess;
//   sp::Popen p({"grep", "-c", "x"}, {.stdin = sp::PIPE, .stdout = sp::PIPE});
//   auto [out, err] = p.communicate("x\ny\nx\n", 5s);      // out == "2\n"
//   int code = p.returncode().value();                     // 0
//
//   std::string listing = sp::check_output({"ls", "-l"});  // CalledProcessError if it fails
//   auto done = sp::run({"sh", "-c", "exit 3"});             // done.returncode == 3
//
// A child's pipes are FileObjectPosix objects (stdin(), stdout(), stderr()). Exits are
// waited for with the loop's child watcher where there is one, else by polling waitpid on
// a hub timer, so a Popen works from any thread's hub. A Popen belongs to the thread that
// made it. Return codes are Python's: the exit status, or -N for a child killed by signal N.
//
// The child is started with posix_spawn: a program that cannot be run (not found, not
// executable, a cwd that does not exist) throws std::system_error from the constructor, and
// no child is left behind. The child gets an empty signal mask and the default action for
// SIGPIPE and SIGXFSZ (as Python's restore_signals); with close_fds (the default), no fd but
// 0, 1 and 2.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gevent/duration.hpp"
#include "gevent/fileobject.hpp"

namespace gevent::subprocess {

// Where one of the child's standard streams goes.
class Stream {
 public:
  enum class Kind { inherit, pipe, devnull, fd, stdout_ };
  constexpr Stream() = default;  // inherited from this process
  constexpr explicit Stream(Kind kind, int fd = -1) : kind_(kind), fd_(fd) {}
  constexpr Kind kind() const { return kind_; }
  constexpr int fd() const { return fd_; }

 private:
  Kind kind_ = Kind::inherit;
  int fd_ = -1;
};

inline constexpr Stream INHERIT{};                 // None in Python
inline constexpr Stream PIPE{Stream::Kind::pipe};  // a pipe to this process
inline constexpr Stream DEVNULL{Stream::Kind::devnull};
inline constexpr Stream STDOUT{Stream::Kind::stdout_};  // stderr only: where stdout goes
// An open fd of this process (it stays open here).
constexpr Stream from_fd(int fd) { return Stream(Stream::Kind::fd, fd); }

struct Options {
  Stream stdin{};
  Stream stdout{};
  Stream stderr{};
  std::optional<std::string> cwd;  // the child's working directory
  // The child's whole environment; none: this process's. Its PATH, if any, is also where a
  // program name without '/' is looked for, as in Python.
  std::optional<std::map<std::string, std::string>> env;
  bool close_fds = true;           // close every fd but 0, 1 and 2 in the child
  bool start_new_session = false;  // setsid() in the child
  std::size_t bufsize = 8192;      // the pipe file objects' buffer size
};

class SubprocessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A wait or communicate() ran out of time. The child still runs.
class TimeoutExpired : public SubprocessError {
 public:
  TimeoutExpired(std::vector<std::string> cmd, Duration timeout, std::string output = {},
                 std::string stderr = {});
  const std::vector<std::string>& cmd() const { return cmd_; }
  Duration timeout() const { return timeout_; }
  // What communicate() had read so far.
  const std::string& output() const { return output_; }
  const std::string& stderr() const { return stderr_; }

 private:
  std::vector<std::string> cmd_;
  Duration timeout_;
  std::string output_;
  std::string stderr_;
};

// check_call(), check_output() or run() with check saw a non-zero return code.
class CalledProcessError : public SubprocessError {
 public:
  CalledProcessError(int returncode, std::vector<std::string> cmd, std::string output = {},
                     std::string stderr = {});
  int returncode() const { return returncode_; }
  const std::vector<std::string>& cmd() const { return cmd_; }
  const std::string& output() const { return output_; }
  const std::string& stderr() const { return stderr_; }

 private:
  int returncode_;
  std::vector<std::string> cmd_;
  std::string output_;
  std::string stderr_;
};

namespace detail {
struct PopenState;
}

class Popen {
 public:
  // Starts args[0] (looked up in PATH if it has no '/') with arguments args. Empty args, a
  // string with a NUL byte, STDOUT for stdin or stdout, or a negative fd:
  // std::invalid_argument. A program that cannot be started: std::system_error.
  explicit Popen(std::vector<std::string> args, Options options = {});
  Popen(Popen&&) noexcept;
  Popen& operator=(Popen&&) = delete;
  // Closes this side's pipes. A child still running is left running, and reaped later.
  ~Popen();

  const std::vector<std::string>& args() const;
  pid_t pid() const;
  // This side of the child's pipes, or null for a stream that is not a PIPE.
  FileObjectPosix* stdin() const;
  FileObjectPosix* stdout() const;
  FileObjectPosix* stderr() const;

  // Once the child has exited and was reaped (by poll, wait or communicate).
  std::optional<int> returncode() const;
  // Reaps the child if it has exited, without waiting; returns returncode().
  std::optional<int> poll();
  // Waits for the child to exit; returns its return code. After `timeout`: TimeoutExpired,
  // and the child runs on.
  int wait(MaybeDuration timeout = {});

  // Writes `input` to stdin and closes it (closes it anyway, if stdin is a PIPE), reads
  // stdout and stderr to their end, at the same time, in greenlets of their own (so a child
  // that fills one pipe while we write the other cannot deadlock), then waits for the child.
  // Returns what stdout and stderr gave ("" for a stream that is not a PIPE). After
  // `timeout`: TimeoutExpired, with the output so far; the child runs on, and calling
  // communicate() again (input is then ignored) carries on where this call stopped. Input
  // without stdin=PIPE: std::invalid_argument. A child that exits without reading all of its
  // input is not an error.
  std::pair<std::string, std::string> communicate(std::string_view input = {},
                                                  MaybeDuration timeout = {});

  // Sends `signum` to the child, unless it was reaped already.
  void send_signal(int signum);
  void terminate();  // SIGTERM
  void kill();       // SIGKILL

 private:
  std::unique_ptr<detail::PopenState> state_;
};

// What run() returns (Python's CompletedProcess).
struct CompletedProcess {
  std::vector<std::string> args;
  int returncode = 0;
  std::string stdout;  // if captured
  std::string stderr;
  // Throws CalledProcessError if returncode is not 0.
  void check_returncode() const;
};

struct RunOptions {
  Options popen;
  std::optional<std::string> input;  // sets stdin to PIPE
  MaybeDuration timeout;
  bool check = false;           // a non-zero return code throws CalledProcessError
  bool capture_output = false;  // sets stdout and stderr to PIPE
};

// Runs the command to its end (subprocess.run). On timeout, kills the child, waits for it and
// throws TimeoutExpired. The streams conflicting with input or capture_output:
// std::invalid_argument.
CompletedProcess run(std::vector<std::string> args, RunOptions options = {});

// Runs the command and returns its return code (subprocess.call). On timeout, kills the
// child, waits for it and throws TimeoutExpired.
int call(std::vector<std::string> args, Options options = {}, MaybeDuration timeout = {});

// call(), then CalledProcessError if the return code is not 0.
void check_call(std::vector<std::string> args, Options options = {}, MaybeDuration timeout = {});

// Runs the command and returns its stdout; CalledProcessError (with the output) if the
// return code is not 0. options.stdout must be left INHERIT.
std::string check_output(std::vector<std::string> args, Options options = {},
                         std::optional<std::string> input = {}, MaybeDuration timeout = {});

}  // namespace gevent::subprocess
