"""Stopping a server process with a signal, for the example checks."""
import os
import subprocess

# Under ThreadSanitizer a signal sent to the process can land in TSan's own background
# thread, which never hands it on (TSan delivers a signal only when the thread that took it
# enters an intercepted call; see google/sanitizers#1179 and llvm-project#83561): the server
# then never sees it. ctest sets GEVENT_TSAN for the tsan preset; there the signal is sent
# once more if the first did not end the server within 5 s. Other builds get one signal.
TSAN = bool(os.environ.get("GEVENT_TSAN"))


def signal_and_wait(proc, sig, timeout=10):
    """Sends `sig` to `proc` and returns its exit status; subprocess.TimeoutExpired if it
    is still running `timeout` seconds later."""
    proc.send_signal(sig)
    if TSAN:
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.send_signal(sig)
    return proc.wait(timeout=timeout)
