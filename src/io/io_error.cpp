#include "gevent/io_error.hpp"

#include <string>

namespace gevent {
namespace {

class IoCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gevent.io"; }

  std::string message(int value) const override {
    switch (static_cast<io_errc>(value)) {
      case io_errc::closed_in_another_greenlet:
        return "File descriptor was closed in another greenlet";
      case io_errc::wait_cancelled:
        return "The wait on this file descriptor was cancelled";
    }
    std::string text = "unknown gevent.io error ";
    text += std::to_string(value);
    return text;
  }

  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<io_errc>(value)) {
      case io_errc::closed_in_another_greenlet:
        return std::errc::bad_file_descriptor;
      case io_errc::wait_cancelled:
        return std::errc::operation_canceled;
    }
    return {value, *this};
  }
};

}  // namespace

const std::error_category& io_category() noexcept {
  static const IoCategory category;
  return category;
}

}  // namespace gevent
