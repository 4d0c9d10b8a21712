// The process-wide record of exit statuses reaped by libev's default loop (see
// take_reaped_status in gevent/loop.hpp).
#pragma once

namespace gevent::loop::detail {

// Records how child `pid` ended (a waitpid() status). Only exits and deaths by signal count.
void record_reaped_status(int pid, int status);

}  // namespace gevent::loop::detail
