"""Python gevent's pywsgi serving the hello-world app of bench/http.sh.

    python3 pywsgi_hello.py PORT

Listens on 127.0.0.1:PORT until SIGTERM or SIGINT. GET /sleep?ms=M sleeps M ms (this
greenlet only), then answers "slept", as wsgi_hello's does; any other request is answered
"Hello, World!".
"""
import signal
import socket
import sys
from urllib.parse import parse_qs

import gevent
from gevent import pywsgi

BODY = b"Hello, World!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]
SLEPT = b"slept"
SLEPT_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(SLEPT)))]


def app(environ, start_response):
    if environ["PATH_INFO"] == "/sleep":
        ms = int(parse_qs(environ["QUERY_STRING"]).get("ms", ["0"])[0])
        gevent.sleep(ms / 1000)
        start_response("200 OK", SLEPT_HEADERS)
        return [SLEPT]
    start_response("200 OK", HEADERS)
    return [BODY]


class NoDelayHandler(pywsgi.WSGIHandler):
    # Without TCP_NODELAY a keep-alive response whose headers and body go out in two
    # writes waits on Nagle against the client's delayed ACK: about 40 ms each.
    def handle(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle()


def main():
    port = int(sys.argv[1])
    server = pywsgi.WSGIServer(("127.0.0.1", port), app, log=None,
                               handler_class=NoDelayHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
