"""A burst of keep-alive connections against an HTTP server; prints the server's RSS.

    python3 bench/burst_memory.py PID PORT N

Opens N connections to 127.0.0.1:PORT, sends one GET / on each, reads each answer (it must
contain "Hello, World!", as wsgi_hello's, bench/http's nginx and pywsgi answers do), keeps them
open and idle for a second, closes them all, and prints the VmRSS of process PID (the server,
or an nginx worker) before, while idle, and 3 s after the clients left. The server needs a
descriptor limit above N (ulimit -n 20000 before starting it); this script raises its own.

    ulimit -n 20000; build/bin/wsgi_hello --port 8000 --no-access-log &
    python3 bench/burst_memory.py $! 8000 9000

bench/idle_memory.py imports rss_kb, raise_fd_limit and ask from here.
"""
import re
import resource
import selectors
import socket
import sys
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def raise_fd_limit():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def complete(answer):
    """Whether answer holds a whole response: a head, and a body as long as its Content-Length
    (the servers benchmarked all send one)."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return bool(sep and length and len(body) >= int(length.group(1)))


def ask(port, path, expect, socks=(), n=0, limit=100, tick=None, timeout=60):
    """Sends `GET path` on each of socks at once, and on n new connections to 127.0.0.1:PORT
    opened as earlier ones are answered (at most limit unanswered: an accept queue that
    overflows costs a 1 s SYN retransmission), and reads every answer, which must be a 200
    holding expect. Calls tick(answers so far) after each wait. Returns (the sockets, left
    open, and how many answers were missing or wrong)."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    got = {}  # socket -> answer so far, None while connecting
    opened = list(socks)
    for s in opened:
        s.send(request)
        sel.register(s, selectors.EVENT_READ)
        got[s] = b""
    wanted, good, answers = len(opened) + n, 0, 0
    deadline = time.monotonic() + timeout
    while (n or got) and time.monotonic() < deadline:
        while n and len(got) < limit:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            sel.register(s, selectors.EVENT_WRITE)
            got[s] = None
            opened.append(s)
            n -= 1
        for key, _ in sel.select(0.02):
            s = key.fileobj
            if got[s] is None:  # connected, or failed to
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    sel.unregister(s)
                    del got[s]
                else:
                    s.send(request)
                    sel.modify(s, selectors.EVENT_READ)
                    got[s] = b""
                continue
            try:
                data = s.recv(65536)
            except ConnectionError:
                data = b""
            answer = got[s] + data
            if data and not complete(answer):
                got[s] = answer
                continue
            sel.unregister(s)
            del got[s]
            answers += 1
            good += answer.startswith(b"HTTP/1.1 200 ") and complete(answer) and expect in answer
        if tick:
            tick(answers)
    sel.close()
    return opened, wanted - good


def main():
    pid, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    raise_fd_limit()
    before = rss_kb(pid)
    socks, unanswered = ask(port, "/", b"Hello, World!", n=n)
    time.sleep(1)
    idle = rss_kb(pid)
    for s in socks:
        s.close()
    time.sleep(3)
    after = rss_kb(pid)
    print(f"{n} connections: RSS before {before} KB, idle {idle} KB "
          f"({(idle - before) / n:.2f} KB per connection), 3 s after they left {after} KB "
          f"({after - before:+d} KB against before); {unanswered} unanswered")


if __name__ == "__main__":
    main()
