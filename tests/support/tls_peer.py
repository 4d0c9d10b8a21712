#!/usr/bin/env python3
"""A TLS peer for tests/io/test_ssl.cpp, written with Python's own ssl module.

  tls_peer.py server --cert C --key K [--alpn a,b] [--unwrap] [--connections N]
      Listens on 127.0.0.1 (a free port, printed first as "port=N"), then for each connection:
      handshake, a greeting line "sni=NAME alpn=PROTO version=V", and an echo of everything
      received until the client closes (or, with --unwrap, until its close_notify: then the
      TLS layer is unwrapped and the echo goes on in plain text). Handshake failures are
      printed ("handshake-error: ...") and the next connection is served.

  tls_peer.py client --port P --ca CA --host H [--alpn a,b] [--message M]
      Connects to 127.0.0.1:P with a default (verifying) context, sends M, reads the echo
      and prints "version=V alpn=PROTO echo=M". Exit status 1 and "error: ..." on failure.

Every run ends itself after 60 s, so a test that dies leaves nothing running for long.
"""
import argparse
import signal
import socket
import ssl
import sys


def out(*words):
    print(*words, flush=True)


def serve_one(listener, context, unwrap):
    conn, _ = listener.accept()
    seen = {}
    context.sni_callback = lambda sock, name, ctx: seen.__setitem__("sni", name)
    try:
        tls = context.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError) as e:
        out("handshake-error:", e)
        conn.close()
        return
    tls.sendall(f"sni={seen.get('sni')} alpn={tls.selected_alpn_protocol()} "
                f"version={tls.version()}\n".encode())
    sock = tls
    while True:
        data = sock.recv(65536)
        if data:
            sock.sendall(data)
        elif unwrap:
            sock = tls.unwrap()  # the same socket object, without TLS from now on
            unwrap = False
            out("unwrapped")
        else:
            break
    sock.close()
    out("closed")


def server(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.alpn:
        context.set_alpn_protocols(args.alpn.split(","))
    listener = socket.create_server(("127.0.0.1", 0))
    out(f"port={listener.getsockname()[1]}")
    for _ in range(args.connections):
        serve_one(listener, context, args.unwrap)
    return 0


def client(args):
    context = ssl.create_default_context(cafile=args.ca)
    if args.alpn:
        context.set_alpn_protocols(args.alpn.split(","))
    try:
        with socket.create_connection(("127.0.0.1", args.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=args.host) as tls:
                tls.sendall(args.message.encode())
                echo = b""
                while len(echo) < len(args.message):
                    data = tls.recv(65536)
                    if not data:
                        break
                    echo += data
                out(f"version={tls.version()} alpn={tls.selected_alpn_protocol()} "
                    f"echo={echo.decode()}")
    except (ssl.SSLError, OSError) as e:
        out("error:", e)
        return 1
    return 0


def main():
    signal.alarm(60)
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["server", "client"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ca")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int)
    parser.add_argument("--alpn")
    parser.add_argument("--message", default="hello")
    parser.add_argument("--unwrap", action="store_true")
    parser.add_argument("--connections", type=int, default=1)
    args = parser.parse_args()
    return server(args) if args.mode == "server" else client(args)


if __name__ == "__main__":
    sys.exit(main())
