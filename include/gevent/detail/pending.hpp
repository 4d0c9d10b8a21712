// The kills and Timeouts due in a greenlet or a task, thrown one per switch point. A second
// one arriving first waits for the next switch point (none is lost), except that GreenletExit
// (a kill) goes first and makes the others moot.
#pragma once

#include <exception>
#include <utility>
#include <vector>

namespace gevent::detail {

// Whether `exception` holds an E (or a class derived from it).
template <class E>
bool holds(const std::exception_ptr& exception) {
  try {
    std::rethrow_exception(exception);
  } catch (const E&) {
    return true;
  } catch (...) {
    return false;
  }
}

bool is_greenlet_exit(const std::exception_ptr& exception);

// `first` is thrown at the next switch point, `more()` (a std::vector<std::exception_ptr>&,
// asked for only when needed) at the ones after.
template <class More>
void add_pending(std::exception_ptr& first, std::exception_ptr exception, More&& more) {
  if (!first) {
    first = std::move(exception);
  } else if (is_greenlet_exit(exception)) {
    first = std::move(exception);
    more().clear();
  } else if (!is_greenlet_exit(first)) {
    more().push_back(std::move(exception));
  }
}

// Takes what is due now; the next in line moves up.
inline std::exception_ptr take_first_pending(std::exception_ptr& first,
                                             std::vector<std::exception_ptr>* more) {
  std::exception_ptr now = std::exchange(first, nullptr);
  if (now && more && !more->empty()) {
    first = std::move(more->front());
    more->erase(more->begin());
  }
  return now;
}

}  // namespace gevent::detail
