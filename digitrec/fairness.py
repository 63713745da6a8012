"""Each address's share of the server: who a request comes from, how many events it may start, and a
queue that serves addresses in turn, not in arrival order.

:func:`client_address` is the address a client cannot choose; :class:`RateLimiter` bounds how many
events each address (and each page) may start (:class:`digitrec.bounds.RequestLimits` applies it).

The rate limits bound how many events one address may queue; they do
not bound its share of the CPU. Gradio 6.31's queue (``gradio.queueing.Queue.get_events``)
runs each concurrency group's events first come, first served, so an address that queues 300
drawings within its rates keeps every worker busy until they are done, and another visitor's
stroke waits behind all of them.

:class:`FairQueue` changes only which waiting event a free worker takes:

* the waiting event of the address with the fewest events running, then with the least
  recent work (seconds of handler time, halving every :data:`USAGE_HALF_LIFE_S`), then the
  oldest: a visitor's next stroke goes ahead of a flood, and an address that sends costly
  work (24 MP photos, long numbers) yields to one that sends cheap work;
* no address runs more than :data:`~digitrec.limits.WORKERS_PER_ADDRESS` events at once, so
  a flood holds at most that many workers while everyone else's events run beside it.

The address is the one the rate limits use (:func:`client_address`), and
``DIGITREC_RATE_LIMITS=off`` switches the per-address cap off with them.
"""

from __future__ import annotations

import math
import os
import threading
import time

import gradio as gr
from gradio import queueing

from digitrec.limits import WORKERS_PER_ADDRESS

TRUST_PROXY_ENV = "DIGITREC_TRUST_PROXY"  # "1": behind a proxy of your own that sets X-Forwarded-For
RATE_LIMITS_ENV = "DIGITREC_RATE_LIMITS"  # "off": no per-page or per-address limit (a private server, a benchmark)


def client_address(headers: dict[bytes, bytes], peer: str, environ=os.environ) -> str:
    """The address a request came from, as the client cannot choose it: on a Space (``SPACE_ID`` set) or
    with ``DIGITREC_TRUST_PROXY=1``, the first address of the proxy's ``X-Forwarded-For``; otherwise the
    peer itself (a client could write any ``X-Forwarded-For`` of its own)."""
    if environ.get("SPACE_ID") or environ.get(TRUST_PROXY_ENV) == "1":
        forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",")[0].strip()
        if forwarded:
            return forwarded
    return peer


def request_address(request) -> str:
    """The address a FastAPI or Gradio request came from (:func:`client_address`); ``""`` without one."""
    if request is None:
        return ""
    headers = {k.lower().encode("latin-1"): v.encode("latin-1") for k, v in request.headers.items()}
    return client_address(headers, getattr(getattr(request, "client", None), "host", "") or "")


class RateLimiter:
    """A token bucket per key: ``rate`` a second on average, ``burst`` at once. Keys idle long enough to
    have refilled are forgotten, so memory stays bounded however many keys come."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._buckets) > 4096:
                full = self.burst / self.rate
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True


USAGE_HALF_LIFE_S = 10.0  # an address's past work counts half after this long


class FairQueue(queueing.Queue):
    """Gradio's queue, taking waiting events address by address (see the module's docstring).

    Installed on a queued ``gr.Blocks`` with :func:`make_fair`, which swaps the class of the queue
    Gradio built: ``Blocks.queue()`` constructs ``gradio.queueing.Queue`` itself and offers no hook.
    """

    running: dict[str, int]
    usage: dict[str, tuple[float, float]]  # address -> (seconds of work, when last updated)
    changes: int  # events taken and finished so far: with what waits, when a new look is worth it
    stalled: tuple | None  # the queue as it was when nothing could be taken

    def get_events(self):
        groups = list(self.event_queue_per_concurrency_id.items())
        if any(q.queue and q.queue[0].fn.batch for _, q in groups):
            return super().get_events()  # batched functions keep Gradio's own order (this app has none)
        capped = os.environ.get(RATE_LIMITS_ENV) != "off"
        # Each group's length and newest event: an event pushed, or one removed anywhere, changes one of them.
        waiting = tuple((len(q.queue), q.queue[-1]._id if q.queue else None) for _, q in groups)
        state = (waiting, self.changes, capped)
        if state == self.stalled:
            # Gradio asks again every millisecond while a worker is free: with only capped addresses waiting,
            # nothing has changed since the last look, and 256 queued events need not be read again.
            return None
        now, best, keys = time.monotonic(), None, {}
        for concurrency_id, q in groups:
            if not q.queue or (q.concurrency_limit is not None and q.current_concurrency >= q.concurrency_limit):
                continue
            seen = set()
            for event in q.queue:
                address = self.address(event)
                if address in seen:
                    continue  # an address's first event in a group is its oldest there
                seen.add(address)
                if address not in keys:
                    running = self.running.get(address, 0)
                    keys[address] = (
                        None if capped and running >= WORKERS_PER_ADDRESS else (running, self.work(address, now))
                    )
                if keys[address] is not None and (best is None or (*keys[address], event.enqueue_time) < best[0]):
                    best = (*keys[address], event.enqueue_time), concurrency_id, q, event
        if best is None:
            self.stalled = state
            return None
        _, concurrency_id, q, event = best
        q.queue.remove(event)
        address = self.address(event)
        self.running[address] = self.running.get(address, 0) + 1
        self.changes += 1
        event._digitrec_counted = True
        return [event], False, concurrency_id

    async def process_events(self, events, batch, begin_time, fn) -> None:
        start = time.monotonic()
        try:
            await super().process_events(events, batch, begin_time, fn)
        finally:
            end = time.monotonic()
            for event in events:
                if not getattr(event, "_digitrec_counted", False):
                    continue  # run by Gradio outside the queue's workers
                address = self.address(event)
                left = self.running.get(address, 1) - 1
                if left:
                    self.running[address] = left
                else:
                    self.running.pop(address, None)
                self.usage[address] = (self.work(address, end) + (end - start) / len(events), end)
            self.changes += 1
            self._forget_idle(end)

    @staticmethod
    def address(event) -> str:
        address = getattr(event, "_digitrec_address", None)
        if address is None:
            address = event._digitrec_address = request_address(event.request)
        return address

    def work(self, address: str, now: float) -> float:
        """Seconds of handler time ``address`` used, each halved every :data:`USAGE_HALF_LIFE_S` since."""
        seconds, when = self.usage.get(address, (0.0, now))
        return seconds * math.exp2(-(now - when) / USAGE_HALF_LIFE_S)

    def _forget_idle(self, now: float) -> None:
        """Drop addresses whose work has decayed to nothing, so the table stays as small as the traffic."""
        if len(self.usage) > 1024:
            for address in [a for a in self.usage if self.work(a, now) < 1e-3 and a not in self.running]:
                del self.usage[address]


def make_fair(demo: gr.Blocks) -> FairQueue:
    """Turn the queue of ``demo`` (after ``demo.queue(...)``) into a :class:`FairQueue`."""
    queue = demo._queue
    queue.__class__ = FairQueue
    queue.running, queue.usage, queue.changes, queue.stalled = {}, {}, 0, None
    return queue
