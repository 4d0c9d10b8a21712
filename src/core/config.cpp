#include "gevent/config.hpp"

#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <string.h>  // sigabbrev_np

#include "gevent/monitor.hpp"

namespace gevent {
namespace {

std::size_t parse_size(std::string_view name, std::string_view text) {
  std::size_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i)
    value = value * 10 + static_cast<std::size_t>(text[i] - '0');
  std::size_t scale = 1;
  if (i + 1 == text.size() && (text[i] == 'K' || text[i] == 'k')) scale = 1024, ++i;
  if (i + 1 == text.size() && (text[i] == 'M' || text[i] == 'm')) scale = 1024 * 1024, ++i;
  if (i == 0 || i != text.size() || value == 0 || value > (std::size_t{1} << 32) / scale)
    throw std::invalid_argument(std::string(name) + "='" + std::string(text) +
                                "': expected a positive size in bytes, optionally with K or M");
  return value * scale;
}

std::string parse_stack_guard(std::string_view text) {
  if (text == "madvise" || text == "mprotect" || text == "canary") return std::string(text);
  throw std::invalid_argument("GEVENT_STACK_GUARD='" + std::string(text) +
                              "': expected madvise, mprotect or canary");
}

std::string parse_resolver(std::string_view text) {
  if (text == "thread" || text == "ares" || text == "block") return std::string(text);
  throw std::invalid_argument("GEVENT_RESOLVER='" + std::string(text) +
                              "': expected thread, ares or block");
}

template <class Count>
Count parse_count(std::string_view name, std::string_view text, const char* of_what) {
  Count count = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (error != std::errc() || end != text.data() + text.size() || count <= 0)
    throw std::invalid_argument(std::string(name) + "='" + std::string(text) +
                                "': expected a positive number of " + of_what);
  return count;
}

MaybeDuration parse_seconds(std::string_view name, std::string_view text) {
  double seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || !(seconds > 0))
    throw std::invalid_argument(std::string(name) + "='" + std::string(text) +
                                "': expected a positive number of seconds");
  return std::chrono::duration<double>(seconds);
}

// Bytes, with an optional K, M or G (powers of 1024).
std::size_t parse_memory(std::string_view name, std::string_view text) {
  std::size_t scale = 1;
  std::string_view digits = text;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'K':
      case 'k':
        scale = std::size_t{1} << 10;
        break;
      case 'M':
      case 'm':
        scale = std::size_t{1} << 20;
        break;
      case 'G':
      case 'g':
        scale = std::size_t{1} << 30;
        break;
      default:
        break;
    }
    if (scale != 1) digits.remove_suffix(1);
  }
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size() || value == 0 ||
      value > SIZE_MAX / scale)
    throw std::invalid_argument(
        std::string(name) + "='" + std::string(text) +
        "': expected a positive number of bytes, optionally with K, M or G");
  return value * scale;
}

bool parse_flag(std::string_view name, std::string_view text) {
  for (std::string_view yes : {"1", "true", "on", "yes"})
    if (text == yes) return true;
  for (std::string_view no : {"0", "false", "off", "no"})
    if (text == no) return false;
  throw std::invalid_argument(std::string(name) + "='" + std::string(text) +
                              "': expected 1, true, on, yes or 0, false, off, no");
}

// "SIGUSR2", "USR2" or a number; not a signal the process cannot catch or that gevent uses.
int parse_signal(std::string_view name, std::string_view text) {
  std::string_view bare = text.starts_with("SIG") ? text.substr(3) : text;
  int signal = 0;
  for (int i = 1; i < NSIG && signal == 0; ++i)
    if (const char* abbreviation = ::sigabbrev_np(i); abbreviation && bare == abbreviation)
      signal = i;
  if (signal == 0) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), signal);
    if (error != std::errc() || end != text.data() + text.size()) signal = 0;
  }
  // Not one the loops need (SIGCHLD: child watchers), nor one glibc keeps for itself (those
  // between the standard signals and SIGRTMIN).
  const bool usable = signal > 0 && signal < NSIG && signal != SIGKILL && signal != SIGSTOP &&
                      signal != SIGSEGV && signal != SIGCHLD &&
                      (signal < 32 || signal >= SIGRTMIN) && signal != monitor::sample_signal();
  if (!usable)
    throw std::invalid_argument(std::string(name) + "='" + std::string(text) +
                                "': expected a signal the process can catch, such as SIGUSR2");
  return signal;
}

Config from_environment() {
  Config config;
  if (const char* loop = std::getenv("GEVENT_LOOP"); loop && *loop) config.loop = loop;
  if (const char* size = std::getenv("GEVENT_STACK_SIZE"); size && *size)
    config.stack_size = parse_size("GEVENT_STACK_SIZE", size);
  if (const char* guard = std::getenv("GEVENT_STACK_GUARD"); guard && *guard)
    config.stack_guard = parse_stack_guard(guard);
  if (const char* kind = std::getenv("GEVENT_RESOLVER"); kind && *kind)
    config.resolver = parse_resolver(kind);
  if (const char* servers = std::getenv("GEVENTARES_SERVERS")) config.ares_servers = servers;
  if (const char* timeout = std::getenv("GEVENTARES_TIMEOUT"); timeout && *timeout)
    config.ares_timeout = parse_seconds("GEVENTARES_TIMEOUT", timeout);
  if (const char* tries = std::getenv("GEVENTARES_TRIES"); tries && *tries)
    config.ares_tries = parse_count<int>("GEVENTARES_TRIES", tries, "tries");
  if (const char* size = std::getenv("GEVENT_THREADPOOL_SIZE"); size && *size)
    config.threadpool_size = parse_count<std::size_t>("GEVENT_THREADPOOL_SIZE", size, "threads");
  if (const char* size = std::getenv("GEVENT_RESOLVER_THREADS"); size && *size)
    config.resolver_threads = parse_count<std::size_t>("GEVENT_RESOLVER_THREADS", size, "threads");
  if (const char* on = std::getenv("GEVENT_MONITOR_THREAD_ENABLE"); on && *on)
    config.monitor_thread = parse_flag("GEVENT_MONITOR_THREAD_ENABLE", on);
  if (const char* bytes = std::getenv("GEVENT_MAX_MEMORY_USAGE"); bytes && *bytes)
    config.max_memory_usage = parse_memory("GEVENT_MAX_MEMORY_USAGE", bytes);
  if (const char* period = std::getenv("GEVENT_MONITOR_MEMORY_PERIOD"); period && *period)
    config.memory_monitor_period = std::chrono::duration_cast<Duration>(
        parse_seconds("GEVENT_MONITOR_MEMORY_PERIOD", period).value());
  if (const char* time = std::getenv("GEVENT_MAX_BLOCKING_TIME"); time && *time)
    config.max_blocking_time = std::chrono::duration_cast<Duration>(
        parse_seconds("GEVENT_MAX_BLOCKING_TIME", time).value());
  if (const char* signal = std::getenv("GEVENT_DUMP_SIGNAL"); signal && *signal)
    config.dump_signal = parse_signal("GEVENT_DUMP_SIGNAL", signal);
  return config;
}

}  // namespace

Config& config() {
  static Config instance = from_environment();
  return instance;
}

}  // namespace gevent
