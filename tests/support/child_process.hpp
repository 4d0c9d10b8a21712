// A child process for tests that need a real peer (python3, openssl s_client): started with
// posix_spawnp, stdin fed from a string, stdout and stderr captured through pipes. Reading
// and waiting are cooperative (the hub keeps running), so the peer and the test's own
// greenlets can talk. The destructor kills (SIGKILL) and reaps a child still running and
// closes the pipes, so the harness's fd check stays exact. Not a subprocess module: the
// minimum the tests need.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <gevent/loop.hpp>
#include <gevent/socket.hpp>
#include <gevent/wait.hpp>

extern char** environ;

namespace gevent::testing {

class ChildProcess {
 public:
  // Starts argv[0] (looked up in PATH). `input` (at most a pipe's 64 KiB) is its stdin,
  // then end of file.
  explicit ChildProcess(const std::vector<std::string>& argv, const std::string& input = "") {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
      throw std::system_error(errno, std::system_category(), "pipe2");
    if (!input.empty() && ::write(in[1], input.data(), input.size()) != ssize_t(input.size()))
      throw std::runtime_error("ChildProcess: stdin input larger than a pipe holds");
    ::close(in[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = 0;
    // Through spawn_child: libev's default loop reaps every child (and records its status).
    gevent::loop::spawn_child([&] {
      rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
      return rc == 0 ? pid_ : -1;
    });
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
    if (rc != 0) {
      close_pipes();
      throw std::system_error(rc, std::system_category(), "posix_spawnp " + argv[0]);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
      gevent::loop::take_reaped_status(pid_);
    }
    close_pipes();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs a command to its end, blocking the thread (for setup before any greenlet runs).
  // Returns the exit status; stdout and stderr are appended to `output`.
  static int run(const std::vector<std::string>& argv, std::string* output = nullptr) {
    ChildProcess child(argv);
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(child.pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    if (r < 0) status = gevent::loop::take_reaped_status(child.pid_).value_or(-1);
    child.pid_ = -1;
    child.drain();
    if (output) *output += child.out_ + child.err_;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // The next line of stdout (without '\n'); waits for it cooperatively. Throws on timeout
  // or if the child closed its stdout first (with what it wrote to stderr).
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto at = out_.find('\n', line_pos_); at != std::string::npos) {
        std::string line = out_.substr(line_pos_, at - line_pos_);
        line_pos_ = at + 1;
        return line;
      }
      const auto had = out_.size();
      if (!read_some(out_fd_, out_)) {
        drain();
        throw std::runtime_error("child closed stdout before a full line; stderr: " + err_);
      }
      if (out_.size() != had) continue;
      const auto left = until - std::chrono::steady_clock::now();
      if (left <= left.zero()) throw std::runtime_error("child wrote no line in time: " + out_);
      try {
        gevent::wait_read(out_fd_, left);
      } catch (const std::system_error&) {
      }
    }
  }

  // Waits (cooperatively) for the child to exit; returns its exit status (128 + signal if
  // killed), or -1 if it is still running after `timeout`. Collects stdout and stderr.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (pid_ > 0) {
      drain();
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        break;
      }
      if (r < 0 && errno == ECHILD) {  // reaped by the loop, which kept its status
        if (auto reaped = gevent::loop::take_reaped_status(pid_)) {
          status = *reaped;
          pid_ = -1;
          break;
        }
      }
      if (std::chrono::steady_clock::now() >= until) return -1;
      gevent::sleep(std::chrono::milliseconds(5));
    }
    drain();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void terminate() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
  }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // Reads what is there; false at end of file.
  static bool read_some(int fd, std::string& into) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n > 0) {
        into.append(buf, std::size_t(n));
        continue;
      }
      return n < 0 && (errno == EAGAIN || errno == EINTR);
    }
  }
  void drain() {
    read_some(out_fd_, out_);
    read_some(err_fd_, err_);
  }
  void close_pipes() {
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
    out_fd_ = err_fd_ = -1;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::size_t line_pos_ = 0;
  std::string err_;
};

}  // namespace gevent::testing
