// GEVENT_DUMP_SIGNAL (config().dump_signal): run info on stderr when the process gets it.
#pragma once

namespace gevent::detail {

// Installs the handler for `signal` (once per signal) and starts the thread that prints run
// info when it arrives (once per process, and again in a forked child's Hub::reinit()). The
// handler only writes a byte to a pipe. Throws std::system_error if the handler cannot be set.
void arm_dump_signal(int signal);

}  // namespace gevent::detail
