#include "wsgi/response_text.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace gevent::pywsgi::detail {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::string_view date_line() {
  thread_local std::time_t formatted_at = -1;
  thread_local char line[64];
  thread_local std::size_t size = 0;
  const std::time_t now = std::time(nullptr);
  if (now != formatted_at) {
    std::tm utc;
    gmtime_r(&now, &utc);
    // By hand, not strftime's %a and %b: HTTP dates are English whatever the locale.
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    size = static_cast<std::size_t>(std::snprintf(
        line, sizeof line, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", kDays[utc.tm_wday],
        utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec));
    formatted_at = now;
  }
  return {line, size};
}

std::string_view local_time_text() {
  thread_local std::time_t formatted_at = -1;
  thread_local char text[32];
  thread_local std::size_t size = 0;
  const std::time_t now = std::time(nullptr);
  if (now != formatted_at) {
    std::tm local;
    localtime_r(&now, &local);
    size = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
    formatted_at = now;
  }
  return {text, size};
}

void append_decimal(OutputBuffer& out, std::uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out += std::string_view(digits, static_cast<std::size_t>(end - digits));
}

void append_seconds(OutputBuffer& out, double seconds) {
  char digits[32];
  const auto end =
      std::to_chars(digits, digits + sizeof digits, seconds, std::chars_format::fixed, 6).ptr;
  out += std::string_view(digits, static_cast<std::size_t>(end - digits));
}

void append_hex(OutputBuffer& out, std::uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n, 16).ptr;
  out += std::string_view(digits, static_cast<std::size_t>(end - digits));
}

std::size_t append_error_response(OutputBuffer& out, int status, std::string_view message,
                                  std::string_view server_line, bool with_body) {
  out += "HTTP/1.1 ";
  append_decimal(out, static_cast<std::uint64_t>(status));
  out += " ";
  out += reason_phrase(status);
  out += "\r\nContent-Type: text/plain\r\nContent-Length: ";
  append_decimal(out, message.size() + 1);
  out += "\r\nConnection: close\r\n";
  out += date_line();
  out += server_line;
  out += "\r\n";
  if (!with_body) return 0;
  out += message;
  out += "\n";
  return message.size() + 1;
}

}  // namespace gevent::pywsgi::detail
