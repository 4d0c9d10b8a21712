// Errors of gevent-cpp's own making in the I/O layer, as an enum plus a std::error_category
// (Asio's habit). OS errors stay std::system_category(); a timed-out operation reports
// std::errc::timed_out.
#pragma once

#include <system_error>

namespace gevent {

enum class io_errc {
  // The socket (or fd) was closed by another greenlet while this one waited on it.
  // Compares equal to std::errc::bad_file_descriptor.
  closed_in_another_greenlet = 1,
  // cancel_wait() was called for the fd this greenlet waited on. Compares equal to
  // std::errc::operation_canceled.
  wait_cancelled,
};

const std::error_category& io_category() noexcept;

inline std::error_code make_error_code(io_errc e) noexcept {
  return {static_cast<int>(e), io_category()};
}

}  // namespace gevent

template <>
struct std::is_error_code_enum<gevent::io_errc> : std::true_type {};
