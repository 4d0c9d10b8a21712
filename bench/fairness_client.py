"""GET / latency while another client streams large bodies through POST /echo.

Usage: fairness_client.py PORT [PROBES] [BODY_MB]

One thread posts BODY_MB-megabyte bodies to /echo over one keep-alive connection, pipelined
back to back, while another drains the answers; the main thread sends GET / every 10 ms, each on a new
connection (as a new client would), and times each answer from connect to its last byte. Prints the probes' latency: p50, p99 and max in
ms, and the echo stream's rate meanwhile (MB/s of bodies answered). Loopback only; bounded by PROBES.
"""
import http.client
import socket
import statistics
import sys
import threading
import time

port = int(sys.argv[1])
probes = int(sys.argv[2]) if len(sys.argv) > 2 else 200
body = b"x" * (int(sys.argv[3]) if len(sys.argv) > 3 else 3) * 1024 * 1024
stop = threading.Event()
echoed = 0


def stream():
    """Pipelined POST /echo requests, sent back to back while another thread drains the
    answers: the server's socket always has a body to read and room to write."""
    global echoed
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    answer_size = None

    def drain():
        global echoed
        got = 0
        while True:
            data = sock.recv(1 << 20)
            if not data:
                return
            got += len(data)
            if answer_size and got >= answer_size:
                echoed += got // answer_size
                got %= answer_size

    # The size of one answer: head + body, from the first one.
    sock.sendall(head + body)
    first = b""
    while b"\r\n\r\n" not in first:
        first += sock.recv(65536)
    answer_size = first.index(b"\r\n\r\n") + 4 + len(body)
    rest = len(first) - answer_size  # negative: that much of the first answer is still due
    while rest < 0:
        rest += len(sock.recv(min(-rest, 1 << 20)))
    echoed = 1
    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    while not stop.is_set():
        sock.sendall(head + body)
    sock.shutdown(socket.SHUT_WR)
    drainer.join(timeout=60)


streamer = threading.Thread(target=stream, daemon=True)
streamer.start()
time.sleep(0.2)  # the stream is flowing
latencies = []
echoed_before, window_started = echoed, time.perf_counter()
for _ in range(probes):
    started = time.perf_counter()
    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    probe.request("GET", "/")
    if probe.getresponse().read() != b"Hello, World!":
        raise SystemExit("GET / answered something else")
    latencies.append((time.perf_counter() - started) * 1000)
    probe.close()
    time.sleep(0.01)
echo_rate = (echoed - echoed_before) * len(body) / (time.perf_counter() - window_started) / 1e6
stop.set()
streamer.join(timeout=60)
latencies.sort()
p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
print(f"p50 {statistics.median(latencies):.2f} ms  p99 {p99:.2f} ms  max {latencies[-1]:.2f} ms"
      f"  echo {echo_rate:.0f} MB/s")
