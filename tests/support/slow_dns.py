#!/usr/bin/env python3
"""A DNS server for tests that answers every query after a delay, each in its own thread.

    slow_dns.py ADDRESS PORT DELAY_MS

Names under slow.test: hostN.slow.test has the A record 10.45.0.N and no AAAA record;
missing.slow.test and every other name get NXDOMAIN. Prints "ready" once it listens.
"""
import ctypes
import signal
import socket
import struct
import sys
import threading
import time


def question(query):
    """The question's name (lowercase, dotted), its type and the question's bytes."""
    labels, at = [], 12
    while query[at]:
        length = query[at]
        labels.append(query[at + 1:at + 1 + length].decode("ascii").lower())
        at += 1 + length
    qtype = struct.unpack("!H", query[at + 1:at + 3])[0]
    return ".".join(labels), qtype, query[12:at + 5]


def answer(query):
    name, qtype, asked = question(query)
    ident = query[:2]
    host = name[:-len(".slow.test")] if name.endswith(".slow.test") else ""
    if not (host.startswith("host") and host[4:].isdigit()):
        flags = 0x8183  # a response, recursion desired and available, NXDOMAIN
        return ident + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + asked
    records = b""
    if qtype == 1:  # A
        address = bytes([10, 45, 0, int(host[4:]) % 256])
        records = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + address
    count = 1 if records else 0
    return ident + struct.pack("!HHHHH", 0x8180, 1, count, 0, 0) + asked + records


def main():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the test
    address, port, delay_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((address, port))
    print("ready", flush=True)

    def reply(query, peer):
        time.sleep(delay_ms / 1000)
        server.sendto(answer(query), peer)

    while True:
        query, peer = server.recvfrom(512)
        threading.Thread(target=reply, args=(query, peer), daemon=True).start()


if __name__ == "__main__":
    main()
