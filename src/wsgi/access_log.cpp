#include "wsgi/access_log.hpp"

#include "gevent/hub.hpp"

namespace gevent::pywsgi::detail {

AccessLog::AccessLog(std::ostream* out)
    : out_(out), hub_(Hub::current()), self_(std::make_shared<AccessLog*>(this)) {}

AccessLog::~AccessLog() { flush(); }

OutputBuffer& AccessLog::next_line() {
  constexpr std::size_t kMostGathered = 64 * 1024;  // a turn of pipelined requests can be long
  if (gathered_.size() >= kMostGathered) flush();
  if (!flush_queued_) {
    flush_queued_ = true;
    hub_.run_callback([weak = std::weak_ptr<AccessLog*>(self_)] {
      if (const auto self = weak.lock()) (*self)->flush();
    });
  }
  return gathered_;
}

void AccessLog::flush() {
  flush_queued_ = false;  // a queued callback that finds nothing gathered does nothing
  if (gathered_.size() == 0) return;
  out_->write(gathered_.view().data(), static_cast<std::streamsize>(gathered_.size()));
  out_->flush();
  gathered_.clear();
}

}  // namespace gevent::pywsgi::detail
