// command_line.hpp: what the examples share for reading their command line. A mistake throws
// example::UsageError; example::run turns it into "name: message" and the usage on stderr with
// exit status 2. The rest are small helpers for flags, values and numbers.
#pragma once

#include <charconv>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace example {

// A mistake on the command line: run() prints it with the usage and exits with status 2.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Whether `arg` asks for help (-h or --help); if so, `help` is set.
inline bool help_requested(std::string_view arg, bool& help) {
  if (arg != "--help" && arg != "-h") return false;
  help = true;
  return true;
}

// Throws "unknown option ARG" if `arg` looks like an option.
inline void reject_option(const std::string& arg) {
  if (arg.starts_with("-")) throw UsageError("unknown option " + arg);
}

// Throws for an argument the program does not take: an option, or a positional argument.
[[noreturn]] inline void reject_argument(const std::string& arg) {
  reject_option(arg);
  throw UsageError("unexpected argument '" + arg + "'");
}

// The value after the flag at argv[i]; i moves on to it.
inline std::string value_after(int& i, int argc, char** argv) {
  if (i + 1 >= argc) throw UsageError(std::string("missing value after ") + argv[i]);
  return argv[++i];
}

// The number `text` spells out in full, if it does.
template <class T>
std::optional<T> parse_number(std::string_view text) {
  T n{};
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || stop != end) return std::nullopt;
  return n;
}

// The number given as `flag`'s value.
inline int number(const std::string& flag, const std::string& value) {
  const auto n = parse_number<int>(value);
  if (!n) throw UsageError(flag + " needs a number, got '" + value + "'");
  return *n;
}

inline void check_port(int port) {
  if (port < 0 || port > 65535)
    throw UsageError("--port must be from 0 to 65535, got " + std::to_string(port));
}

// Reads --host HOST or --port PORT at argv[i] into `host` or `port`; false for another flag.
inline bool host_or_port(const std::string& flag, int& i, int argc, char** argv, std::string& host,
                         int& port) {
  if (flag == "--host") {
    host = value_after(i, argc, argv);
  } else if (flag == "--port") {
    port = number(flag, value_after(i, argc, argv));
    check_port(port);
  } else {
    return false;
  }
  return true;
}

inline void check_at_least(const std::string& flag, int value, int least) {
  if (value < least)
    throw UsageError(flag + " must be at least " + std::to_string(least) + ", got " +
                     std::to_string(value));
}

// Prints the usage for --help: main returns this 0.
inline int print_usage(std::string_view usage) {
  std::cout << usage << std::flush;
  return 0;
}

// Runs main's `body`. A UsageError prints "name: message" and the usage on stderr and makes
// exit status 2; any other exception prints "name: message" and makes status 1.
template <class Body>
int run(std::string_view name, std::string_view usage, Body body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << name << ": " << e.what() << "\n" << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace example
