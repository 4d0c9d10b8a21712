#!/usr/bin/env python3
"""Runs examples/fetch_urls against a local HTTP server whose pages answer after a delay.

  check_fetch_urls.py FETCH_URLS

Three pages take 0.3, 0.6 and 0.9 s: fetched one after another that is 1.8 s; fetched at once,
about 0.9 s. Checks every page's line, that they finish fastest first, and the total time.
"""
import http.server
import subprocess
import sys
import threading
import time

DELAYS_MS = [900, 300, 600]


class SlowPages(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        delay_ms = int(self.path.rsplit("/", 1)[1])
        time.sleep(delay_ms / 1000)
        body = ("page after %d ms\n" % delay_ms).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowPages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    urls = ["http://127.0.0.1:%d/delay/%d" % (server.server_port, d) for d in DELAYS_MS]
    start = time.monotonic()
    run = subprocess.run([sys.argv[1]] + urls, capture_output=True, text=True, timeout=30)
    took = time.monotonic() - start
    server.shutdown()
    lines = run.stdout.splitlines()
    print(run.stdout, end="")
    print("took %.2f s (the slowest page: %.1f s, all of them: %.1f s)"
          % (took, max(DELAYS_MS) / 1000, sum(DELAYS_MS) / 1000))
    assert run.returncode == 0, run.stderr
    assert lines[:3] == ["Starting " + u for u in urls], lines
    finished = [line.split(": ", 1)[0] for line in lines[3:]]
    assert finished == [urls[1], urls[2], urls[0]], "not fastest first: %s" % finished
    for line in lines[3:]:
        assert line.endswith("bytes: page after %s ms" % line.split(": ")[0].rsplit("/", 1)[1]), line
    assert took < sum(DELAYS_MS) / 1000 - 0.3, "fetched one after another: %.2f s" % took


if __name__ == "__main__":
    main()
