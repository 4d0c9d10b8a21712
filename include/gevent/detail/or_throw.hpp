// The throwing form of a call made with std::error_code& (Asio's pattern: the throwing
// overload wraps the error_code& one). One helper for every layer.
#pragma once

#include <system_error>
#include <type_traits>

namespace gevent::detail {

// Calls call(ec); when that sets ec, calls raise(ec), which must throw. Returns call's result.
template <class Call, class Raise>
auto or_throw(Call&& call, Raise&& raise) {
  std::error_code ec;
  if constexpr (std::is_void_v<std::invoke_result_t<Call&, std::error_code&>>) {
    call(ec);
    if (ec) raise(ec);
  } else {
    auto result = call(ec);
    if (ec) raise(ec);
    return result;
  }
}

}  // namespace gevent::detail
