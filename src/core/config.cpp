#include "gevent/config.hpp"

#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

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

Config from_environment() {
  Config config;
  if (const char* loop = std::getenv("GEVENT_LOOP"); loop && *loop) config.loop = loop;
  if (const char* size = std::getenv("GEVENT_STACK_SIZE"); size && *size)
    config.stack_size = parse_size("GEVENT_STACK_SIZE", size);
  return config;
}

}  // namespace

Config& config() {
  static Config instance = from_environment();
  return instance;
}

}  // namespace gevent
