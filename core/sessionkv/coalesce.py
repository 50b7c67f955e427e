"""``Coalescer``: concurrent calls issued in the same event-loop tick leave as one pipelined batch.

Why: a client that writes one command per call and waits for its reply pays a system call, a
round trip and a wake-up per call; under concurrency the Python client, not the server, is the
limit. Auto-pipelining clients (ioredis, Lettuce) send every command queued while the event loop
was busy in one write. ``Coalescer`` does that for any backend: ``submit(request)`` queues the
request and waits for its own outcome; at the end of the tick in which the first request was
queued (``loop.call_soon``), the queue goes to ``send`` as one batch, which the backend turns into
one pipeline on one connection. At most ``max_inflight`` batches are out at once (one per
connection the backend may use); while all are out, new requests wait and form the next batch,
so under load batches grow to what arrives during one round trip. A call finding the coalescer
idle (nothing queued or sent) does not wait for the tick: it is sent at once as a batch of one,
in its own task, so a lone call costs what it did without coalescing; the calls that follow it in
the same tick leave together as the next batch.

What stays per call:

- Results: ``send`` returns one outcome per request, in order: a value, or ``Failed(error)``, which
  raises ``error`` in that caller only (a command error of one key fails only its caller).
- Cancellation and timeouts: a caller cancelled (or timed out by its own ``asyncio.timeout``)
  before its batch is taken is left out of it; cancelled after, its outcome is dropped. The batch
  and the other callers in it go on undisturbed; nothing waits for the cancelled one.
- The one shared failure: an exception *raised* by ``send`` (the connection was lost, the whole
  pipeline timed out, the reply stream could not be read) fails every caller of that batch, and
  only that batch; the next batch starts afresh.

Batches run in tasks of their own, so no caller's cancellation can interrupt a pipeline that
carries its neighbours' commands. ``batches`` and ``requests`` count what was sent (tests count
round trips with them, not time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

R = TypeVar("R")
T = TypeVar("T")

#: Requests in one batch at most: bounds the pipeline a single write carries.
DEFAULT_MAX_BATCH = 512


@dataclass(frozen=True, slots=True)
class Failed:
    """The outcome of one request that failed on its own: ``error`` is raised in its caller only."""

    error: BaseException


class Coalescer(Generic[R, T]):
    """Queues requests and hands each tick's queue to ``send`` as one batch (see the module docstring).

    ``send(requests)`` must return one ``T`` or ``Failed`` per request, in order; raising fails the
    whole batch. ``max_inflight`` is how many batches may be sent at once (e.g. the pool size).
    ``send_one(request)``, if given, sends a lone request of an idle coalescer (see ``submit``) instead of
    ``send([request])``: it runs in the caller's task, under the caller's own timeout, so it may skip
    what only a shared batch needs (a bound of its own).
    """

    def __init__(
        self,
        send: Callable[[list[R]], Awaitable[Sequence[T | Failed]]],
        *,
        max_inflight: int = 1,
        max_batch: int = DEFAULT_MAX_BATCH,
        send_one: Callable[[R], Awaitable[T | Failed]] | None = None,
    ) -> None:
        if max_inflight < 1 or max_batch < 1:
            raise ValueError("max_inflight and max_batch must be at least 1")
        self._send = send
        self._send_one = send_one
        self.max_inflight = max_inflight
        self.max_batch = max_batch
        self._pending: list[tuple[R, asyncio.Future[T]]] = []
        self._scheduled = False
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        #: batches handed to ``send`` so far, and the requests they carried
        self.batches = 0
        self.requests = 0

    @property
    def inflight(self) -> int:
        """Batches sent and not answered yet."""
        return self._inflight

    async def submit(self, request: R) -> T:
        """Queue ``request`` for the next batch and wait for its outcome (raised if it is ``Failed``).

        On an idle coalescer (nothing queued, nothing sent) the request leaves at once, alone, in the caller's task.
        """
        if not self._inflight and not self._pending:
            # Idle: send ``request`` as a batch of its own, now, in the caller's task. A lone call pays no loop
            # tick and no task of its own, so it costs what an uncoalesced call does; nothing needs isolating
            # (its cancellation or timeout interrupts only its own send). Calls arriving meanwhile queue and
            # leave together as the next batch, on another slot if there is one.
            self._inflight += 1
            self.batches += 1
            self.requests += 1
            try:
                if self._send_one is not None:
                    outcome = await self._send_one(request)
                else:
                    outcomes = await self._send([request])
                    if len(outcomes) != 1:
                        raise RuntimeError(f"a coalesced send returned {len(outcomes)} outcomes for 1 requests")
                    outcome = outcomes[0]
            finally:
                self._inflight -= 1
                if self._pending and not self._scheduled:
                    self._scheduled = True
                    asyncio.get_running_loop().call_soon(self._flush)
            if isinstance(outcome, Failed):
                raise outcome.error
            return outcome
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((request, future))
        if not self._scheduled and self._inflight < self.max_inflight:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future  # a cancelled caller cancels its future: the batch skips or ignores it

    def _flush(self) -> None:
        """Start batches from the queue while there are free slots (runs as a loop callback)."""
        self._scheduled = False
        while self._pending and self._inflight < self.max_inflight:
            taken, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            batch = [(request, future) for request, future in taken if not future.done()]
            if not batch:
                continue
            self._inflight += 1
            self.batches += 1
            self.requests += len(batch)
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[R, asyncio.Future[T]]]) -> None:
        try:
            outcomes = await self._send([request for request, _ in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"a coalesced send returned {len(outcomes)} outcomes for {len(batch)} requests")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except BaseException as exc:  # the batch's one shared failure: every caller in it sees it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self._inflight -= 1
            if self._pending and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue  # its caller was cancelled or timed out: the outcome is dropped
            if isinstance(outcome, Failed):
                future.set_exception(outcome.error)
            else:
                future.set_result(outcome)

    async def drain(self) -> None:
        """Wait until every queued and sent batch has been answered (a store calls it before closing)."""
        while self._pending or self._tasks or self._inflight:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            elif self._inflight:
                await asyncio.sleep(0.001)  # a lone call runs in its caller's task: nothing to await but time
            else:
                await asyncio.sleep(0)
