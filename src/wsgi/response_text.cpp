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

namespace {

// Text that depends only on the current second, formatted again only when the second changes.
// `format(now, buffer, capacity)` writes it and returns its size.
class PerSecondText {
 public:
  template <class Format>
  std::string_view get(Format format) {
    const std::time_t now = std::time(nullptr);
    if (now != formatted_at_) {
      size_ = format(now, text_, sizeof text_);
      formatted_at_ = now;
    }
    return {text_, size_};
  }

 private:
  std::time_t formatted_at_ = -1;
  char text_[64];
  std::size_t size_ = 0;
};

// Appends what std::to_chars writes for `args`.
template <class... Args>
void append_to_chars(OutputBuffer& out, Args... args) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, args...).ptr;
  out += std::string_view(text, static_cast<std::size_t>(end - text));
}

}  // namespace

std::string_view date_line() {
  thread_local PerSecondText line;
  return line.get([](std::time_t now, char* text, std::size_t capacity) {
    std::tm utc;
    gmtime_r(&now, &utc);
    // By hand, not strftime's %a and %b: HTTP dates are English whatever the locale.
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    return static_cast<std::size_t>(std::snprintf(
        text, capacity, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", kDays[utc.tm_wday],
        utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec));
  });
}

std::string_view local_time_text() {
  thread_local PerSecondText text;
  return text.get([](std::time_t now, char* out, std::size_t capacity) {
    std::tm local;
    localtime_r(&now, &local);
    return std::strftime(out, capacity, "%Y-%m-%d %H:%M:%S", &local);
  });
}

void append_decimal(OutputBuffer& out, std::uint64_t n) { append_to_chars(out, n); }

void append_seconds(OutputBuffer& out, double seconds) {
  append_to_chars(out, seconds, std::chars_format::fixed, 6);
}

void append_hex(OutputBuffer& out, std::uint64_t n) { append_to_chars(out, n, 16); }

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
