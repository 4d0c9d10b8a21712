#include "io/subprocess_spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include "gevent/loop.hpp"
#include "sys/libc.hpp"

extern char** environ;

namespace gevent::subprocess::detail {
namespace {

const char* const kStreamNames[] = {"stdin", "stdout", "stderr"};

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::system_category(), "gevent::subprocess::Popen: " + what);
}

void check_spawn(int error, const char* what) {
  if (error != 0) throw_errno(error, what);
}

// An fd at 3 or above, close-on-exec, so that setting up 0, 1 and 2 in the child never
// overwrites another stream's source.
UniqueFd high_cloexec_dup(int fd, const char* stream) {
  const int dup = sys::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) throw_errno(errno, std::string(stream) + " fd " + std::to_string(fd));
  return UniqueFd(dup);
}

UniqueFd at_least_3(UniqueFd fd, const char* stream) {
  return fd.get() >= 3 ? std::move(fd) : high_cloexec_dup(fd.get(), stream);
}

class FileActions {
 public:
  FileActions() { check_spawn(posix_spawn_file_actions_init(&actions_), "file actions"); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;

  void dup2(int from, int to) {
    check_spawn(posix_spawn_file_actions_adddup2(&actions_, from, to), "dup2 action");
  }
  void open(int fd, const char* path, int flags) {
    check_spawn(posix_spawn_file_actions_addopen(&actions_, fd, path, flags, 0), "open action");
  }
  void chdir(const std::string& dir) {
    check_spawn(posix_spawn_file_actions_addchdir_np(&actions_, dir.c_str()), "chdir action");
  }
  void close_from(int lowest) {
    check_spawn(posix_spawn_file_actions_addclosefrom_np(&actions_, lowest), "closefrom action");
  }
  const posix_spawn_file_actions_t* get() const { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

class SpawnAttributes {
 public:
  explicit SpawnAttributes(bool new_session) {
    check_spawn(posix_spawnattr_init(&attr_), "attributes");
    sigset_t none;
    sigemptyset(&none);
    sigset_t restored;  // what Python's restore_signals puts back
    sigemptyset(&restored);
    sigaddset(&restored, SIGPIPE);
    sigaddset(&restored, SIGXFSZ);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_session) flags |= POSIX_SPAWN_SETSID;
    posix_spawnattr_setsigmask(&attr_, &none);
    posix_spawnattr_setsigdefault(&attr_, &restored);
    posix_spawnattr_setflags(&attr_, flags);
  }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attr_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  const posix_spawnattr_t* get() const { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

void check_arguments(const std::vector<std::string>& args, const Options& options) {
  if (args.empty()) throw std::invalid_argument("gevent::subprocess::Popen: no program to run");
  for (const auto& arg : args)
    if (arg.find('\0') != std::string::npos)
      throw std::invalid_argument("gevent::subprocess::Popen: an argument holds a NUL byte");
  if (options.stdin.kind() == Stream::Kind::stdout_ ||
      options.stdout.kind() == Stream::Kind::stdout_)
    throw std::invalid_argument("gevent::subprocess::Popen: STDOUT is only for stderr");
  for (const Stream& stream : {options.stdin, options.stdout, options.stderr})
    if (stream.kind() == Stream::Kind::fd && stream.fd() < 0)
      throw std::invalid_argument("gevent::subprocess::Popen: negative fd " +
                                  std::to_string(stream.fd()));
}

// Where a name without '/' is looked for: the child's PATH if its environment is given and
// has one, else ours, else the system default.
std::string search_path(const Options& options) {
  if (options.env) {
    const auto found = options.env->find("PATH");
    if (found != options.env->end()) return found->second;
  }
  if (const char* ours = std::getenv("PATH")) return ours;
  return "/bin:/usr/bin";
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::access(path.c_str(), X_OK) == 0 && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string find_program(const std::string& name, const Options& options) {
  if (name.find('/') != std::string::npos) return name;
  const std::string path = search_path(options);
  int error = ENOENT;
  for (std::size_t start = 0; start <= path.size();) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    const std::string dir = end > start ? path.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    if (errno == EACCES) error = EACCES;
    start = end + 1;
  }
  throw_errno(error, "cannot run '" + name + "' (looked in PATH " + path + ")");
}

std::vector<std::string> environment_strings(const Options& options) {
  std::vector<std::string> strings;
  for (const auto& [name, value] : *options.env) {
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos || value.find('\0') != std::string::npos)
      throw std::invalid_argument("gevent::subprocess::Popen: bad environment variable '" + name +
                                  "'");
    strings.push_back(name + "=" + value);
  }
  return strings;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Sets up child fd `target` (0, 1 or 2) as `stream` says. Returns this side of a pipe, and
// keeps in `keep` what must stay open until the child has started.
UniqueFd redirect(FileActions& actions, const Stream& stream, int target,
                  std::vector<UniqueFd>& keep) {
  const char* name = kStreamNames[target];
  switch (stream.kind()) {
    case Stream::Kind::inherit:
      return {};
    case Stream::Kind::devnull:
      actions.open(target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY);
      return {};
    case Stream::Kind::stdout_:
      actions.dup2(1, 2);
      return {};
    case Stream::Kind::fd:
      keep.push_back(high_cloexec_dup(stream.fd(), name));
      actions.dup2(keep.back().get(), target);
      return {};
    case Stream::Kind::pipe:
      break;
  }
  int fds[2];
  if (sys::pipe2(fds, O_CLOEXEC) < 0) throw_errno(errno, std::string(name) + " pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  UniqueFd child_end = target == 0 ? std::move(read_end) : std::move(write_end);
  UniqueFd ours = target == 0 ? std::move(write_end) : std::move(read_end);
  keep.push_back(at_least_3(std::move(child_end), name));
  actions.dup2(keep.back().get(), target);
  return at_least_3(std::move(ours), name);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) sys::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) sys::close(fd_);
}

SpawnedChild spawn_process(const std::vector<std::string>& args, const Options& options) {
  check_arguments(args, options);
  const std::string program = find_program(args[0], options);
  std::vector<std::string> argv_strings = args;
  std::vector<char*> argv = pointers_to(argv_strings);
  std::vector<std::string> env_strings;
  if (options.env) env_strings = environment_strings(options);
  std::vector<char*> envp = pointers_to(env_strings);

  SpawnedChild child;
  FileActions actions;
  std::vector<UniqueFd> keep;  // the child's ends, closed here once it has started
  child.stdin_pipe = redirect(actions, options.stdin, 0, keep);
  child.stdout_pipe = redirect(actions, options.stdout, 1, keep);
  child.stderr_pipe = redirect(actions, options.stderr, 2, keep);
  if (options.cwd) actions.chdir(*options.cwd);
  if (options.close_fds) actions.close_from(3);
  const SpawnAttributes attributes(options.start_new_session);

  int error = 0;
  loop::spawn_child([&] {
    error = sys::posix_spawn(&child.pid, program.c_str(), actions.get(), attributes.get(),
                             argv.data(), options.env ? envp.data() : environ);
    return error == 0 ? child.pid : -1;
  });
  if (error != 0) {
    std::string what = "cannot run '" + program + "'";
    if (options.cwd) what += " in '" + *options.cwd + "'";
    throw_errno(error, what);
  }
  return child;
}

}  // namespace gevent::subprocess::detail
