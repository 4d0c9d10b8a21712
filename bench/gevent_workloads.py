#!/usr/bin/env python3
"""The workloads of bench_core and bench_memory, in Python gevent.

Prints one "name value unit" line per figure, with the names the C++ benchmarks use:
  greenlets               N, the number of sleeping greenlets for the next two
  rss_bytes_per_greenlet  resident growth / N with N greenlets asleep (their list included)
  spawn_seconds           from the first spawn until all N are asleep
  handoff_ns              one greenlet-to-greenlet hand-over through the hub (sleep(0) ping-pong)
  sleep0_ns               gevent.sleep(0) with nothing else ready
  spawn_joinall_ns        spawn 100k no-op greenlets, then joinall; per greenlet
  event_set_wait_ns       two greenlets ping-pong through two Events; per set -> wake
  semaphore_acquire_release_ns  an uncontended acquire + release
  queue_put_get_ns        two greenlets ping-pong through two Queues; per put -> get
  pool_imap_unordered_ns  Pool(100).imap_unordered over 100k items; per item
  threadpool_roundtrip_us a no-op job on the hub's thread pool, spawn + get
Timings are the best of --repeat runs. --scale (or GEVENT_BENCH_SCALE) shrinks every count.
"""
import argparse
import os
import time

import gevent
import gevent.event
import gevent.lock
import gevent.pool
import gevent.queue


def best_ns_per_op(ops, repeat, run):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        run()
        best = min(best, (time.perf_counter_ns() - t0) / ops)
    return best


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGESIZE")


def sleeping_greenlets(n):
    """(spawn_seconds, rss_bytes_per_greenlet) for n greenlets that all sleep an hour."""
    gevent.get_hub()
    rss_before = resident_bytes()
    t0 = time.perf_counter_ns()
    asleep = 0

    def sleeper():
        nonlocal asleep
        asleep += 1
        gevent.sleep(3600)

    all_greenlets = [gevent.spawn(sleeper) for _ in range(n)]
    while asleep < n:
        gevent.sleep(0.001)
    seconds = (time.perf_counter_ns() - t0) / 1e9
    per_greenlet = (resident_bytes() - rss_before) / n
    gevent.killall(all_greenlets)
    return seconds, per_greenlet


def handoff_ns(handoffs, repeat):
    def yielder():
        for _ in range(handoffs // 2):
            gevent.sleep(0)

    def run():
        gevent.joinall([gevent.spawn(yielder), gevent.spawn(yielder)])

    return best_ns_per_op(handoffs, repeat, run)


def sleep0_ns(n, repeat):
    def run():
        for _ in range(n):
            gevent.sleep(0)

    return best_ns_per_op(n, repeat, run)


def spawn_joinall_ns(n, repeat):
    def noop():
        pass

    def run():
        gevent.joinall([gevent.spawn(noop) for _ in range(n)])

    return best_ns_per_op(n, repeat, run)


def event_set_wait_ns(handoffs, repeat):
    def player(inbox, outbox, rounds):
        for _ in range(rounds):
            inbox.wait()
            inbox.clear()
            outbox.set()

    def run():
        ping, pong = gevent.event.Event(), gevent.event.Event()
        other = gevent.spawn(player, ping, pong, handoffs // 2)
        for _ in range(handoffs // 2):
            ping.set()
            pong.wait()
            pong.clear()
        other.join()

    return best_ns_per_op(handoffs, repeat, run)


def semaphore_acquire_release_ns(n, repeat):
    semaphore = gevent.lock.Semaphore(1)

    def run():
        for _ in range(n):
            semaphore.acquire()
            semaphore.release()

    return best_ns_per_op(n, repeat, run)


def queue_put_get_ns(handoffs, repeat):
    def run():
        there, back = gevent.queue.Queue(), gevent.queue.Queue()

        def echo():
            for _ in range(handoffs // 2):
                back.put(there.get())

        other = gevent.spawn(echo)
        for i in range(handoffs // 2):
            there.put(i)
            back.get()
        other.join()

    return best_ns_per_op(handoffs, repeat, run)


def pool_imap_unordered_ns(n, repeat):
    def run():
        pool = gevent.pool.Pool(100)
        total = sum(pool.imap_unordered(lambda x: x + 1, range(n)))
        assert total == n * (n + 1) // 2

    return best_ns_per_op(n, repeat, run)


def threadpool_roundtrip_us(n, repeat):
    pool = gevent.get_hub().threadpool

    def run():
        for _ in range(n):
            pool.spawn(lambda: 1).get()

    return best_ns_per_op(n, repeat, run) / 1000


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float,
                        default=float(os.environ.get("GEVENT_BENCH_SCALE", 1)),
                        help="multiply every count by this (default 1: the C++ counts)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per timing, best kept (default 3)")
    args = parser.parse_args()
    if args.scale <= 0 or args.repeat < 1:
        parser.error("--scale must be > 0 and --repeat >= 1")

    def count(n):
        return max(2, int(n * args.scale))

    # Memory first: later workloads leave freed memory behind that would hide the RSS growth.
    sleepers = count(100_000)
    seconds, per_greenlet = sleeping_greenlets(sleepers)
    print(f"greenlets {sleepers}")
    print(f"spawn_seconds {seconds:.3f} s")
    print(f"rss_bytes_per_greenlet {per_greenlet:.0f} bytes")
    print(f"handoff_ns {handoff_ns(count(2_000_000), args.repeat):.2f} ns")
    print(f"sleep0_ns {sleep0_ns(count(1_000_000), args.repeat):.2f} ns")
    print(f"spawn_joinall_ns {spawn_joinall_ns(count(100_000), args.repeat):.2f} ns")
    print(f"event_set_wait_ns {event_set_wait_ns(count(200_000), args.repeat):.2f} ns")
    print(f"semaphore_acquire_release_ns "
          f"{semaphore_acquire_release_ns(count(1_000_000), args.repeat):.2f} ns")
    print(f"queue_put_get_ns {queue_put_get_ns(count(200_000), args.repeat):.2f} ns")
    print(f"pool_imap_unordered_ns {pool_imap_unordered_ns(count(100_000), args.repeat):.2f} ns")
    print(f"threadpool_roundtrip_us {threadpool_roundtrip_us(count(5_000), args.repeat):.2f} us")


if __name__ == "__main__":
    main()
