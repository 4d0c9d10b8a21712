// The access log of one server on its hub's thread.
//
// One write per request cost a syscall per request. Here the lines of the requests the hub
// serves in one turn are gathered and written with one write(), by a callback queued behind
// the greenlets woken in that turn when the first line comes. Lines wait at most that turn;
// destroying the log writes what is gathered.
#pragma once

#include <memory>
#include <ostream>

#include "wsgi/output_buffer.hpp"

namespace gevent {
class Hub;
}

namespace gevent::pywsgi::detail {

class AccessLog {
 public:
  explicit AccessLog(std::ostream* out);  // nullptr: no access log
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  bool on() const { return out_ != nullptr; }
  // Where the next whole line is to be appended; it goes out with the others of this turn.
  OutputBuffer& next_line();
  // Writes the gathered lines now (before an error line to a stream that may be the same).
  void flush();

 private:
  std::ostream* out_;
  Hub& hub_;
  OutputBuffer gathered_;
  bool flush_queued_ = false;
  // The queued flush holds a weak reference: a log destroyed first is not touched.
  std::shared_ptr<AccessLog*> self_;
};

}  // namespace gevent::pywsgi::detail
