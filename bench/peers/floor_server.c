/* The "floor" peer of bench/http.sh: about the least work a single-threaded HTTP/1.1
 * keep-alive hello-world server can do on this kernel, so the lower bound on CPU per request
 * that gevent-cpp and nginx are measured against. One thread, edge-triggered epoll,
 * non-blocking sockets; per readable connection: read until a short read, count the request
 * heads that end in the bytes read (each ends with "\r\n\r\n"; a head split across reads is
 * carried over as the count of its terminator's bytes already seen, one byte per connection),
 * and answer them all, pipelined or not, with one write of as many copies of a canned
 * response. No allocation after start-up.
 *
 * Not a conforming HTTP server, on purpose: it parses nothing beyond finding each head's end
 * (no method, target, version or header is looked at; a request body would be scanned as
 * heads; no Connection: close, no HTTP/1.0, no limits, no timeouts), sends no Date or Server
 * header, and closes a connection whose answer does not fit the socket's send buffer at once
 * instead of buffering the rest. Any real server does at least its syscalls (epoll_wait, a
 * read, a write per batch of requests) and byte scan; what it measures above that is its own.
 *
 *   floor_server PORT      (listens on 127.0.0.1:PORT until killed)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RESPONSE "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!"
enum { LEN = sizeof RESPONSE - 1, MAX_FDS = 65536, READ_SIZE = 16384, MAX_ANSWERS = READ_SIZE / 4 };
static unsigned char seen[MAX_FDS]; /* per connection: bytes of "\r\n\r\n" matched so far */
static char in[READ_SIZE], out[MAX_ANSWERS * LEN];

static int serve(int fd) { /* 0: close the connection (EOF, error, short write) */
  for (;;) {
    ssize_t n = read(fd, in, sizeof in), requests = 0;
    if (n <= 0) return n < 0 && errno == EAGAIN;
    unsigned state = seen[fd];
    for (ssize_t i = 0; i < n; i++) {
      char c = in[i];
      if (c == '\r') state = state == 2 ? 3 : 1;
      else if (c == '\n' && state == 3) requests++, state = 0;
      else state = c == '\n' && state == 1 ? 2 : 0;
    }
    seen[fd] = state;
    if (requests && send(fd, out, requests * LEN, MSG_NOSIGNAL) != requests * LEN) return 0;
    if (n < READ_SIZE) return 1; /* drained: more data brings a new edge */
  }
}

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: floor_server PORT\n"), 2;
  for (int i = 0; i < MAX_ANSWERS; i++) memcpy(out + i * LEN, RESPONSE, LEN);
  int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), ep = epoll_create1(0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = lfd}, events[256];
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 4096) ||
      epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
    return perror("floor_server"), 1;
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd, c;
      if (fd != lfd) {
        if (!serve(fd)) close(fd);
        continue;
      }
      while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        if (c >= MAX_FDS) { close(c); continue; }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        seen[c] = 0, ev.data.fd = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev)) close(c);
      }
    }
  }
}
