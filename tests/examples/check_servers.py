#!/usr/bin/env python3
"""Runs the server examples as a user would and talks to them with Python's own sockets.

  check_servers.py echo ECHO_SERVER          1000 concurrent clients, a reset, SIGTERM
  check_servers.py udp UDP_ECHO              datagrams back and forth, SIGTERM
  check_servers.py forward PORTFORWARDER ECHO_SERVER   a megabyte through the forwarder

Every step is bounded in time; any failure exits non-zero with the reason.
"""
import asyncio
import atexit
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

from signals import signal_and_wait

DEADLINE = 60


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server example run as a child process, stopped with SIGTERM at the end."""

    def __init__(self, argv, expect_lines=1):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        atexit.register(self.proc.kill)  # a failed check must not leave the server running
        for _ in range(expect_lines):
            line = self.proc.stdout.readline()
            if "serving on" not in line:
                self.proc.kill()
                sys.exit(f"{argv[0]} did not start: {line!r}")

    def stop(self):
        try:
            code = signal_and_wait(self.proc, signal.SIGTERM)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            sys.exit(f"{self.argv[0]} did not stop within 10 s of SIGTERM")
        if code != 0:
            sys.exit(f"server exited with {code} after SIGTERM")


async def echo_client(port, index, start):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await start.wait()  # every connection is open before anyone talks
    payload = os.urandom(random.randint(1, 4096)) + b"%d" % index
    writer.write(payload)
    await writer.drain()
    got = await reader.readexactly(len(payload))
    writer.close()
    await writer.wait_closed()
    return got == payload


async def many_clients(port, count):
    start = asyncio.Event()
    tasks = [asyncio.create_task(echo_client(port, i, start)) for i in range(count)]
    await asyncio.sleep(0.5)
    start.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    return sum(results)


def reset_mid_stream(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"x" * 100000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # RST while the server is echoing


def round_trip(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := s.recv(65536):
            got += chunk
        return got


def check_echo(binary):
    port = free_port()
    server = Server([binary, "--port", str(port), "--threads", "2"], expect_lines=2)
    reset_mid_stream(port)
    ok = asyncio.run(many_clients(port, 1000))
    if ok != 1000:
        sys.exit(f"only {ok} of 1000 concurrent echoes came back intact")
    if round_trip(port, b"after the crowd") != b"after the crowd":
        sys.exit("echo failed after the concurrent clients")
    server.stop()
    print("echo_server: 1000 concurrent clients ok, survived a reset, stopped on SIGTERM")


def check_udp(binary):
    port = free_port(socket.SOCK_DGRAM)
    server = Server([binary, "--port", str(port)])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        for i in range(100):
            msg = b"datagram %d" % i
            s.sendto(msg, ("127.0.0.1", port))
            got, peer = s.recvfrom(1024)
            if got != msg or peer[1] != port:
                sys.exit(f"udp_echo answered {got!r} from {peer}")
    server.stop()
    print("udp_echo: 100 datagrams echoed, stopped on SIGTERM")


def check_forward(forwarder, echo):
    echo_port, forward_port = free_port(), free_port()
    echo_server = Server([echo, "--port", str(echo_port)])
    fwd = Server([forwarder, f"127.0.0.1:{forward_port}", f"127.0.0.1:{echo_port}"])
    data = os.urandom(1 << 20)
    if round_trip(forward_port, data) != data:
        sys.exit("a megabyte through the forwarder came back different")
    # A client still connected at SIGTERM: stop() kills its handler after the stop timeout,
    # and the greenlet copying the other way must die before the sockets it uses.
    with socket.create_connection(("127.0.0.1", forward_port), timeout=10) as idle:
        idle.sendall(b"ping")
        if idle.recv(4) != b"ping":
            sys.exit("the forwarder did not answer before SIGTERM")
        fwd.stop()
    echo_server.stop()
    print("portforwarder: 1 MiB forwarded both ways intact, stopped on SIGTERM with a client on")


def main():
    mode, *binaries = sys.argv[1:]
    signal.alarm(DEADLINE + 30)
    {"echo": check_echo, "udp": check_udp, "forward": check_forward}[mode](*binaries)


if __name__ == "__main__":
    main()
