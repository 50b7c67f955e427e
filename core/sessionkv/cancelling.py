"""``cancel_and_wait``: stop a background task for sure, even on Python 3.11.

Why: before Python 3.12, ``asyncio.wait_for`` returns its inner result when a cancellation arrives
just as that result does, and the cancellation is lost (CPython gh-86296). Client libraries call
``wait_for`` on every command (redis-py bounds each socket write with it), so a loop cancelled
while one of its store calls completes may simply go on: ``task.cancel(); await task`` then waits
for ever. Cancelling again until the task has ended is what stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

#: Seconds between two cancellations of a task that has not ended yet.
RECANCEL_EVERY = 0.1


async def cancel_and_wait(task: asyncio.Task[Any] | None, *, every: float = RECANCEL_EVERY) -> None:
    """Cancel ``task`` until it has ended, then reap it (its ``CancelledError`` is not raised here).

    Any other exception the task ended with is raised, as ``await task`` would.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=every)
    with contextlib.suppress(asyncio.CancelledError):
        await task
