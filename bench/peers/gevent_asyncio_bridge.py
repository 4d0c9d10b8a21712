"""The Python peer of bench_aio's bridge figures: asyncio's loop on gevent's hub, bridged the
asyncio-gevent way (written here: PyPI is not reachable; Debian has python3-gevent only).

The asyncio loop runs in a greenlet; gevent.monkey makes its selector cooperative. A task
awaits a gevent Event through greenlet_to_future (a greenlet waits, its link resolves an
asyncio future); a greenlet waits for a task through future_to_greenlet (the task's done
callback sets an AsyncResult). Prints "name value ns" lines, best of 3:

  greenlet_waits_task_ns      per round: a greenlet starts a task and waits for it; the task
                              awaits an Event that another greenlet sets
  greenlet_task_roundtrip_ns  a greenlet and a long-lived task ping-pong through two Events
"""
from gevent import monkey

monkey.patch_all()

import asyncio  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

loop = asyncio.new_event_loop()


def greenlet_to_future(greenlet):
    future = loop.create_future()

    def done(g):
        if g.successful():
            loop.call_soon_threadsafe(future.set_result, g.value)
        else:
            loop.call_soon_threadsafe(future.set_exception, g.exception)

    greenlet.link(done)
    return future


def start_task(coroutine):
    """Starts a task on the loop from a greenlet; its outcome arrives in an AsyncResult."""
    result = gevent.event.AsyncResult()

    def create():
        task = loop.create_task(coroutine)
        task.add_done_callback(lambda t: result.set(t.result()))

    loop.call_soon_threadsafe(create)
    return result


def greenlet_waits_task(rounds):
    event = gevent.event.Event()

    async def body():
        await greenlet_to_future(gevent.spawn(event.wait))
        return 1

    for _ in range(rounds):
        event.clear()
        result = start_task(body())
        gevent.spawn(event.set)
        assert result.get() == 1


def greenlet_task_roundtrip(rounds):
    to_task = gevent.event.Event()
    to_greenlet = gevent.event.Event()

    async def body():
        for _ in range(rounds):
            await greenlet_to_future(gevent.spawn(to_task.wait))
            to_task.clear()
            to_greenlet.set()

    done = start_task(body())
    for _ in range(rounds):
        to_task.set()
        to_greenlet.wait()
        to_greenlet.clear()
    done.get()


def best_ns(rounds, run):
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        run(rounds)
        best = min(best, (time.perf_counter() - t0) * 1e9 / rounds)
    return best


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    runner = gevent.spawn(loop.run_forever)
    try:
        print("greenlet_waits_task_ns %.2f ns" % best_ns(int(20000 * scale), greenlet_waits_task))
        print("greenlet_task_roundtrip_ns %.2f ns" % best_ns(int(20000 * scale), greenlet_task_roundtrip))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join()


if __name__ == "__main__":
    main()
