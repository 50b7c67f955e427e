"""Batch plumbing for DynamoDB: chunks, a bounded pool of concurrent requests, and retrying what AWS left unprocessed.

``BatchGetItem`` and ``BatchWriteItem`` may succeed while leaving part of the request undone
(``UnprocessedKeys``/``UnprocessedItems``: throttling, or a 16 MB reply). ``until_processed`` resends
the remainder with exponential backoff and full jitter, as AWS recommends, and gives up with
``UnprocessedError`` after ``Backoff.attempts`` rounds.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
P = TypeVar("P")


class UnprocessedError(RuntimeError):
    """A batch still had unprocessed entries after every retry."""


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` cut into lists of at most ``size``, in order."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


async def run_bounded(jobs: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run ``jobs`` with at most ``limit`` in flight; results in order. The first failure cancels the rest."""
    if len(jobs) == 1:
        return [await jobs[0]()]
    results: list[T | None] = [None] * len(jobs)
    queue = iter(enumerate(jobs))

    async def worker() -> None:
        for index, job in queue:  # one shared iterator: each job is taken by exactly one worker
            results[index] = await job()

    workers = [asyncio.ensure_future(worker()) for _ in range(min(limit, len(jobs)))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return results  # type: ignore[return-value]  # every slot was filled by a job


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: round ``n`` waits up to ``min(cap, base * 2**n)`` seconds."""

    attempts: int = 10
    base: float = 0.025
    cap: float = 1.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


async def until_processed(send: Callable[[P], Awaitable[P | None]], request: P, backoff: Backoff) -> None:
    """Call ``send(request)``, then ``send(remainder)`` with backoff while it returns an unprocessed remainder."""
    pending: P | None = request
    for attempt in range(backoff.attempts):
        if attempt:
            await asyncio.sleep(backoff.delay(attempt - 1))
        assert pending is not None
        pending = await send(pending)
        if not pending:
            return
    raise UnprocessedError(f"DynamoDB left part of a batch unprocessed after {backoff.attempts} attempts")
