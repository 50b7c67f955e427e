"""``Periodic``: run an async action every few seconds in a background task, for backends' housekeeping.

Memory's sweep of expired keys and etcd's revocation of unused leases are such loops. A failing
action is logged at debug level and tried again next time: housekeeping must never end the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .cancelling import cancel_and_wait

log = logging.getLogger("sessionkv.periodic")


class Periodic:
    """Calls ``action()`` every ``interval`` seconds between ``start()`` and ``stop()``; both are idempotent."""

    def __init__(self, interval: float, action: Callable[[], Awaitable[object]], name: str) -> None:
        self.interval = interval
        self.action = action
        self.name = name
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """Start the loop on the running event loop (no-op if it runs already)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._forever(), name=self.name)

    async def stop(self) -> None:
        """Cancel the loop and wait until it has ended."""
        task, self._task = self._task, None
        await cancel_and_wait(task)  # insists: a cancel racing a finished store call can be lost (Python 3.11)

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.action()
            except Exception as exc:  # a server may be away: try again next time
                log.debug("%s failed: %s: %s", self.name, type(exc).__name__, exc)
