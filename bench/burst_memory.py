"""A burst of keep-alive connections against an HTTP server; prints the server's RSS.

    python3 bench/burst_memory.py PID PORT N

Opens N connections to 127.0.0.1:PORT, sends one GET / on each, reads each answer (it must
contain "Hello, World!", as wsgi_hello's, bench/http's nginx and pywsgi answers do), keeps them
open and idle for a second, closes them all, and prints the VmRSS of process PID (the server,
or an nginx worker) before, while idle, and 3 s after the clients left. The server needs a
descriptor limit above N (ulimit -n 20000 before starting it); this script raises its own.

    ulimit -n 20000; build/bin/wsgi_hello --port 8000 --no-access-log &
    python3 bench/burst_memory.py $! 8000 9000
"""
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


def main():
    pid, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    before = rss_kb(pid)
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: b\r\n\r\n")
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, b"")
        socks.append(s)
    pending = n
    got = {}
    deadline = time.time() + 60
    while pending and time.time() < deadline:
        for key, _ in sel.select(1):
            data = key.fileobj.recv(4096)
            buf = got.get(key.fileobj, b"") + data
            got[key.fileobj] = buf
            if b"Hello, World!" in buf or not data:
                sel.unregister(key.fileobj)
                pending -= 1
    time.sleep(1)
    idle = rss_kb(pid)
    for s in socks:
        s.close()
    time.sleep(3)
    after = rss_kb(pid)
    print(f"{n} connections: RSS before {before} KB, idle {idle} KB "
          f"({(idle - before) / n:.2f} KB per connection), 3 s after they left {after} KB "
          f"({after - before:+d} KB against before); {pending} unanswered")


main()
