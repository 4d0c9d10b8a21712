"""The client of bench/idle_memory.sh: keep-alive connections to 127.0.0.1:PORT and the
VmRSS of process PID (the server, or nginx's worker), in KB, on one line.

    python3 bench/idle_memory.py idle PID PORT N
        N connections, one GET / each, idle 2 s, then all closed.
        Prints: before, idle, 3 s after they closed, answers missing.
    python3 bench/idle_memory.py inflight PID PORT N MS
        N connections, one GET / each, then GET /sleep?ms=MS on all of them at once.
        Prints: before, idle, in flight (the highest RSS seen before the first of those
        answers), answers missing.
"""
import sys
import time

from burst_memory import ask, raise_fd_limit, rss_kb

HELLO = b"Hello, World!"


def main():
    mode, pid, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    raise_fd_limit()
    before = rss_kb(pid)
    socks, missing = ask(port, "/", HELLO, n=n)
    if mode == "idle":
        time.sleep(2)
        idle = rss_kb(pid)
        for s in socks:
            s.close()
        time.sleep(3)
        print(before, idle, rss_kb(pid), missing)
        return
    ms = int(sys.argv[5])
    idle = rss_kb(pid)
    peak = idle

    def sample(answers):
        nonlocal peak
        if not answers:
            peak = max(peak, rss_kb(pid))

    _, slept_missing = ask(port, f"/sleep?ms={ms}", b"slept", socks=socks, tick=sample,
                           timeout=ms / 1000 + 30)
    print(before, idle, peak, missing + slept_missing)


if __name__ == "__main__":
    main()
