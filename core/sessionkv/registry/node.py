"""``SessionNode``: the runtime of one node, owning its sessions as asyncio tasks.

``start_session`` registers a session and runs it as a task; when the task ends the session is
removed. A maintenance loop, every ``maintenance_interval`` seconds, heartbeats and fetches the
close requests for this node's sessions in one batched call, cancelling those tasks. A failing
store call is logged and retried next cycle: the loop never dies from it, and its staleness
(time since the last successful cycle) is exposed for health checks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

from ..cancelling import cancel_and_wait
from ..errors import ConfigurationError, StoreNotStartedError
from ..store import SessionKVStore
from ..telemetry import close_request_handled, maintenance_failed
from ..url import redact
from .registry import DEFAULT_TTL, SessionRegistry, check_seconds

log = logging.getLogger("sessionkv.registry.node")

DEFAULT_MAINTENANCE_INTERVAL = 5.0
#: A ttl must cover this many maintenance intervals, so one slow or failed cycle never expires live sessions.
TTL_INTERVALS = 3

SessionFactory = Callable[[], Awaitable[Any]]


class SessionNode:
    """Runs this node's sessions and keeps them registered (see the module docstring).

    ``registry`` is a ``SessionRegistry`` (the caller stops it; pass ``node_id``/``ttl`` to it)
    or what ``SessionRegistry`` accepts as a store (a ``SessionKVStore``, a URL, ``None``), in
    which case the node builds, starts and stops its own registry. ``max_sessions`` caps this
    node's sessions (``NodeFullError`` beyond it); with a given registry, set it on the registry.
    """

    def __init__(
        self,
        registry: SessionRegistry | SessionKVStore | str | None = None,
        *,
        node_id: str | None = None,
        ttl: float | None = None,
        maintenance_interval: float = DEFAULT_MAINTENANCE_INTERVAL,
        max_sessions: int | None = None,
    ) -> None:
        self.maintenance_interval = check_seconds(maintenance_interval, "maintenance_interval")
        if isinstance(registry, SessionRegistry):
            if node_id is not None or ttl is not None or max_sessions is not None:
                raise ConfigurationError(
                    "pass node_id, ttl and max_sessions to the SessionRegistry, not to a SessionNode using it"
                )
            check_ttl_covers_interval(registry.ttl, self.maintenance_interval)
            self.registry = registry
            self._owns_registry = False
        else:
            ttl = DEFAULT_TTL if ttl is None else check_seconds(ttl)
            check_ttl_covers_interval(ttl, self.maintenance_interval)
            self.registry = SessionRegistry(registry, node_id=node_id, ttl=ttl, max_sessions=max_sessions)
            self._owns_registry = True
        self._tasks: dict[tuple[str, str], asyncio.Task[Any]] = {}
        self._reserved: set[tuple[str, str]] = set()
        self._cleanups: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._abandoned = False
        self._last_success: float | None = None
        #: Wall-clock time of the last successful maintenance cycle (``None`` before the first).
        self.last_maintenance: float | None = None
        #: The last maintenance failure (``None`` once a cycle succeeds again).
        self.last_error: str | None = None
        #: Failed maintenance cycles since start.
        self.failures = 0
        #: Sessions cancelled because another node requested their close.
        self.closed_by_request = 0

    @property
    def node_id(self) -> str:
        return self.registry.node_id

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def sessions(self) -> list[tuple[str, str]]:
        """``(call_id, session_id)`` of every session running on this node."""
        return list(self._tasks)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the registry, run one maintenance cycle (so the node is listed), then the loop."""
        if self._loop_task is not None:
            return
        await self.registry.start()
        self._abandoned = False
        await self._maintain_logged()
        self._loop_task = asyncio.get_running_loop().create_task(self._maintain_forever(), name="sessionkv maintenance")

    async def stop(self) -> None:
        """Stop the loop, cancel every session (each removes its record), stop an owned registry."""
        await self._cancel_loop()
        await self._cancel_sessions()
        if self._owns_registry:
            await self.registry.stop()

    async def abandon(self) -> None:
        """Stop as a crashed process would: no more heartbeats and no cleanup in the store.

        The sessions' tasks are cancelled without removing their records, which vanish when
        their TTLs lapse. For demos and tests of crash handling.
        """
        self._abandoned = True
        await self._cancel_loop()
        await self._cancel_sessions()
        if self._owns_registry:
            await self.registry.stop(cleanup=False)

    async def __aenter__(self) -> SessionNode:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _cancel_loop(self) -> None:
        task, self._loop_task = self._loop_task, None
        await cancel_and_wait(task)  # Python < 3.12's wait_for can swallow a cancel that races a finishing cycle

    async def _cancel_sessions(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._finish_cleanups()

    # -- sessions --------------------------------------------------------------------------

    async def start_session(
        self,
        call_id: str,
        session_id: str,
        coroutine_factory: SessionFactory,
        *,
        metadata: Mapping[str, Any] | None = None,
        max_per_call: int | None = None,
    ) -> asyncio.Task[Any]:
        """Register a session and run ``coroutine_factory()`` as its task; it is removed when the task ends.

        ``max_per_call`` admits it only while the call has fewer live sessions fleet-wide
        (``CallFullError``); ``NodeFullError`` if this node runs ``max_sessions`` already. A refused
        session's factory is never called.
        """
        if self._loop_task is None:
            raise StoreNotStartedError("SessionNode is not started: use `async with` or `await node.start()`")
        if not callable(coroutine_factory):
            raise TypeError("coroutine_factory must be a callable returning an awaitable")
        pair = (call_id, session_id)
        if pair in self._tasks or pair in self._reserved:
            raise ValueError(f"session {session_id!r} of call {call_id!r} already runs on this node")
        self._reserved.add(pair)
        try:
            await self.registry.register(call_id, session_id, metadata=metadata, max_per_call=max_per_call)
            task = asyncio.get_running_loop().create_task(
                self._run(pair, coroutine_factory), name=f"sessionkv session {call_id}/{session_id}"
            )
            self._tasks[pair] = task
        finally:
            self._reserved.discard(pair)
        # A callback, not a ``finally`` in the task: a task cancelled before its first step never runs its body.
        task.add_done_callback(lambda done: self._session_ended(pair, done))
        return task

    async def close_session(self, call_id: str, session_id: str) -> bool:
        """Cancel a session of this node now and wait for it to end; ``False`` if it does not run here."""
        task = self._tasks.get((call_id, session_id))
        if task is None:
            return False
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await self._finish_cleanups()
        return True

    async def _run(self, pair: tuple[str, str], factory: SessionFactory) -> Any:
        try:
            return await factory()
        except Exception:
            log.exception("session %r of call %r failed", pair[1], pair[0])
            raise

    def _session_ended(self, pair: tuple[str, str], task: asyncio.Task[Any]) -> None:
        """Forget an ended session and remove its record (unless the node was abandoned)."""
        if self._tasks.get(pair) is task:
            del self._tasks[pair]
        if not task.cancelled():
            task.exception()  # already logged by _run; mark it retrieved
        if not self._abandoned:
            cleanup = asyncio.get_running_loop().create_task(self._remove(pair))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)

    async def _remove(self, pair: tuple[str, str]) -> None:
        try:
            await self.registry.remove(*pair)
        except Exception as exc:
            log.warning(
                "could not remove session %r of call %r (it expires with its ttl): %s",
                pair[1],
                pair[0],
                redact(str(exc)),
            )

    async def _finish_cleanups(self) -> None:
        """Wait until every ended session's record is removed."""
        while self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)

    # -- maintenance -----------------------------------------------------------------------

    async def maintain(self) -> None:
        """One maintenance cycle: heartbeat, then cancel the sessions another node asked to close."""
        await self.registry.heartbeat()
        pairs = list(self._tasks)
        if pairs:
            for pair in await self.registry.close_requested(pairs):
                task = self._tasks.get(pair)
                if task is not None and not task.done():
                    log.info("closing session %r of call %r on request", pair[1], pair[0])
                    self.closed_by_request += 1
                    close_request_handled(self.node_id)
                    task.cancel()
        self._last_success = time.monotonic()
        self.last_maintenance = time.time()
        self.last_error = None

    async def _maintain_logged(self) -> None:
        try:
            await asyncio.wait_for(self.maintain(), timeout=self.registry.ttl / TTL_INTERVALS)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the loop must survive any store failure
            self.failures += 1
            maintenance_failed(self.node_id, exc)
            self.last_error = redact(f"{type(exc).__name__}: {exc}")
            log.warning(
                "maintenance of node %s failed, retrying in %s s: %s",
                self.node_id,
                self.maintenance_interval,
                self.last_error,
            )

    async def _maintain_forever(self) -> None:
        while self._loop_task is not None:
            await asyncio.sleep(self.maintenance_interval)
            await self._maintain_logged()

    def maintenance_age(self) -> float | None:
        """Seconds since the last successful maintenance cycle (``None`` if none succeeded yet)."""
        return None if self._last_success is None else time.monotonic() - self._last_success

    def is_stale(self) -> bool:
        """True if the loop is not running or missed two cycles: sessions risk expiring soon."""
        age = self.maintenance_age()
        return not self.running or age is None or age > 2 * self.maintenance_interval

    def __repr__(self) -> str:
        return f"<SessionNode node_id={self.node_id!r} sessions={len(self._tasks)} running={self.running}>"


def check_ttl_covers_interval(ttl: float, interval: float) -> None:
    """``ConfigurationError`` unless ``ttl >= 3 x interval`` (tolerant of float rounding: 0.6 covers 3 x 0.2)."""
    if ttl >= TTL_INTERVALS * interval * (1 - 1e-9):
        return
    raise ConfigurationError(
        f"ttl {ttl:g} s is too short for maintenance_interval {interval:g} s: it must be at least "
        f"{TTL_INTERVALS} x the interval ({TTL_INTERVALS * interval:g} s), so one late heartbeat never "
        "expires live sessions. Raise ttl or lower maintenance_interval."
    )
