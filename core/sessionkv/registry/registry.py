"""``SessionRegistry``: register, inspect, heartbeat and close live sessions across nodes.

Each node registers its sessions in a shared store under the key scheme of
``sessionkv.registry.keys``; any node lists, inspects or requests the close of any session; a
node that stops heartbeating (a crash) loses its sessions when their TTLs lapse.

Heartbeats cost a constant number of store calls whatever the session count: one batched
``touch`` moves every TTL (no values travel) and reports the records the store lost (restart,
flush, eviction); one ``mset`` re-writes exactly those from the encoded bytes kept in memory,
together with the node's liveness record.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from ..adapt import adapt
from ..discovery import open_store
from ..errors import ConfigurationError
from ..store import SessionKVStore
from ..url import redact
from .info import NodeInfo, SessionInfo, dump_json
from .keys import NODE_PREFIX, SESSION_PREFIX, call_prefix, close_key, node_key, parse_session_key, session_key

log = logging.getLogger("sessionkv.registry")

DEFAULT_TTL = 30.0


@dataclass
class _Owned:
    """A session this registry registered: its record and the exact bytes last written."""

    info: SessionInfo
    encoded: bytes


@dataclass(frozen=True)
class HeartbeatResult:
    """What one heartbeat did: sessions refreshed, and records re-written after the store lost them."""

    sessions: int
    restored: int


def default_node_id() -> str:
    """``host-pid-random``: unique per process, readable in operator tables."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def check_seconds(value: object, what: str = "ttl") -> float:
    """A registry setting (ttl, interval) as float seconds: a finite number > 0, else ``ConfigurationError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{what} must be > 0 (a finite number of seconds), got {value!r}")
    return float(value)


def metrics_mapping(metrics: object) -> dict[str, Any]:
    """``metrics`` as a dict: a mapping, or any object with ``to_dict()`` (as the published API allows)."""
    to_dict = getattr(metrics, "to_dict", None)
    if callable(to_dict) and not isinstance(metrics, Mapping):
        metrics = to_dict()
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a mapping or have to_dict(), not {type(metrics).__name__}")
    return dict(metrics)


class SessionRegistry:
    """The live sessions of every node, in a shared TTL store (see the module docstring).

    ``store`` is a ``SessionKVStore``, any store with the published methods (wrapped by
    ``sessionkv.adapt``), a URL (opened with ``open_store``) or ``None`` (a private in-memory
    store). ``start()`` starts the store and ``stop()`` closes it; stores count their users, so a
    store shared with the application or other registries stays open until its last user closes
    it. A registry used before ``start()`` starts itself.
    """

    def __init__(self, store: Any = None, *, node_id: str | None = None, ttl: float = DEFAULT_TTL):
        self.ttl = check_seconds(ttl)
        self.node_id = default_node_id() if node_id is None else node_id
        self._node_key = node_key(self.node_id)  # validates node_id
        if store is None:
            store = open_store("memory://")
        elif isinstance(store, str):
            store = open_store(store)
        self.store: SessionKVStore = adapt(store)
        self.started_at = time.time()
        self._owned: dict[str, _Owned] = {}
        self._write_lock = asyncio.Lock()
        self._started = False
        self._announced = False

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the store (one more user of it); safe to call twice."""
        if not self._started:
            await self.store.start()
            self._started = True

    async def stop(self, *, cleanup: bool = True) -> None:
        """Delete this node's sessions and liveness record (unless ``cleanup=False``), then close the store."""
        if not self._started:
            return
        self._started = False
        try:
            if cleanup and (self._owned or self._announced):
                keys = [self._node_key]
                for owned in self._owned.values():
                    keys += [session_key(owned.info.call_id, owned.info.session_id)]
                    keys += [close_key(owned.info.call_id, owned.info.session_id)]
                await self.store.delete(keys)
        except Exception as exc:
            log.warning(
                "registry %s could not delete its records on stop (they expire in %s s): %s",
                self.node_id,
                self.ttl,
                redact(str(exc)),
            )
        finally:
            self._owned.clear()
            self._announced = False
            await self.store.close()

    async def __aenter__(self) -> SessionRegistry:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _require_started(self) -> None:
        """Start on first use, as the published registry works without an explicit ``start()``."""
        if not self._started:
            await self.start()

    # -- this node's sessions --------------------------------------------------------------

    async def register(
        self, call_id: str, session_id: str, *, metadata: Mapping[str, Any] | None = None
    ) -> SessionInfo:
        """Record a session as running on this node; heartbeats keep it alive until ``remove``."""
        await self._require_started()
        key = session_key(call_id, session_id)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping, not {type(metadata).__name__}")
        now = time.time()
        info = SessionInfo(
            session_id=session_id,
            call_id=call_id,
            node_id=self.node_id,
            started_at=now,
            metrics_updated_at=now,
            metadata=dict(metadata or {}),
        )
        encoded = info.encode()  # non-JSON metadata fails here, before any I/O
        async with self._write_lock:
            await self.store.set(key, encoded, self.ttl)
            self._owned[key] = _Owned(info, encoded)
        return info

    async def remove(self, call_id: str, session_id: str) -> None:
        """Delete a session's record and its close request (one store call); this node stops refreshing it.

        Meant for this node's own sessions; to end another node's session use ``request_close``
        (its owner would re-write a record removed under it at its next heartbeat).
        """
        await self._require_started()
        key = session_key(call_id, session_id)
        async with self._write_lock:
            self._owned.pop(key, None)
            await self.store.delete([key, close_key(call_id, session_id)])

    async def update_metrics(
        self, call_id: str, session_id: str, metrics: Mapping[str, Any] | Any, *, merge: bool = False
    ) -> SessionInfo | None:
        """Replace a session's metrics (``merge=True``: merge into them) and write it now; ``None`` if not live.

        ``metrics`` is a mapping or any object with ``to_dict()``. For a session of this node,
        only that record is re-encoded and written. For another node's session the stored record
        is read, updated and written back only if still live.
        """
        await self._require_started()
        key = session_key(call_id, session_id)
        new = metrics_mapping(metrics)
        async with self._write_lock:
            owned = self._owned.get(key)
            if owned is not None:
                merged = {**owned.info.metrics, **new} if merge else new
                info = replace(owned.info, metrics=merged, metrics_updated_at=time.time())
                encoded = info.encode()
                await self.store.set(key, encoded, self.ttl)
                self._owned[key] = _Owned(info, encoded)
                return info
        remote = await self.get(call_id, session_id)
        if remote is None:
            return None
        merged = {**remote.metrics, **new} if merge else new
        remote = replace(remote, metrics=merged, metrics_updated_at=time.time())
        await self.store.set(key, remote.encode(), self.ttl, only_if_exists=True)
        return remote

    def owned_sessions(self) -> list[tuple[str, str]]:
        """``(call_id, session_id)`` of every session this registry registered and has not removed."""
        return [(owned.info.call_id, owned.info.session_id) for owned in self._owned.values()]

    async def heartbeat(self) -> HeartbeatResult:
        """Refresh every session of this node and its liveness record in at most two store calls.

        One ``touch`` moves all TTLs and names the records the store lost; one ``mset``
        re-writes those (from the bytes kept in memory) plus this node's liveness record.
        """
        await self._require_started()
        keys = list(self._owned)
        missing = await self.store.touch(keys, self.ttl) if keys else []
        async with self._write_lock:
            # A session removed while touch ran is gone from _owned: never resurrect it.
            lost = [(key, self._owned[key].encoded, self.ttl) for key in missing if key in self._owned]
            record = NodeInfo(self.node_id, len(self._owned), self.started_at, time.time())
            await self.store.mset([*lost, (self._node_key, record.encode(), self.ttl)])
        self._announced = True
        if lost:
            log.warning("registry %s restored %d session records the store had lost", self.node_id, len(lost))
        return HeartbeatResult(sessions=len(keys), restored=len(lost))

    async def refresh(self, sessions: Mapping[str, str]) -> list[str]:
        """Refresh the ttl of the given sessions (session_id -> call_id) now, in one ``touch``.

        The published API's explicit refresh: records of this node's sessions that the store lost
        are re-written (one ``mset``); returns the session ids whose records were missing.
        """
        await self._require_started()
        keys = {session_key(call_id, session_id): session_id for session_id, call_id in sessions.items()}
        missing = await self.store.touch(list(keys), self.ttl) if keys else []
        async with self._write_lock:
            lost = [(key, self._owned[key].encoded, self.ttl) for key in missing if key in self._owned]
            if lost:
                await self.store.mset(lost)
        return [keys[key] for key in missing]

    # -- every node's sessions -------------------------------------------------------------

    async def get(self, call_id: str, session_id: str) -> SessionInfo | None:
        """One session, wherever it runs; ``None`` if it is not live (or its record is corrupt)."""
        await self._require_started()
        key = session_key(call_id, session_id)
        raw = await self.store.get(key)
        return None if raw is None else self._decode(key, raw)

    async def get_for_call(self, call_id: str) -> list[SessionInfo]:
        """Every live session of one call across all nodes, oldest first (two store calls)."""
        await self._require_started()
        return await self._sessions_under(call_prefix(call_id))

    async def list_sessions(self) -> list[SessionInfo]:
        """Every live session of every call on every node, by call then age."""
        await self._require_started()
        found = await self._sessions_under(SESSION_PREFIX)
        return sorted(found, key=lambda info: (info.call_id, info.started_at, info.session_id))

    async def _sessions_under(self, prefix: str) -> list[SessionInfo]:
        keys = sorted(await self.store.keys(prefix))
        values = await self.store.mget(keys) if keys else []
        found = [self._decode(key, raw) for key, raw in zip(keys, values, strict=True) if raw is not None]
        return sorted((info for info in found if info is not None), key=lambda info: (info.started_at, info.session_id))

    def _decode(self, key: str, raw: bytes) -> SessionInfo | None:
        """Decode an untrusted record; log and skip it if it is corrupt or names another session."""
        try:
            info = SessionInfo.decode(raw)
        except ValueError as exc:
            log.warning("skipping corrupt session record %r: %s", key, exc)
            return None
        if parse_session_key(key) != (info.call_id, info.session_id):
            log.warning("skipping session record %r: it names call %r session %r", key, info.call_id, info.session_id)
            return None
        return info

    async def nodes(self) -> list[NodeInfo]:
        """Every live node (one that heartbeated within the ttl) with its session count."""
        await self._require_started()
        keys = sorted(await self.store.keys(NODE_PREFIX))
        values = await self.store.mget(keys) if keys else []
        found: list[NodeInfo] = []
        for key, raw in zip(keys, values, strict=True):
            if raw is None:
                continue
            try:
                found.append(NodeInfo.decode(raw))
            except ValueError as exc:
                log.warning("skipping corrupt node record %r: %s", key, exc)
        return sorted(found, key=lambda node: node.node_id)

    async def ping(self) -> None:
        """One cheap store call (a ``get``), for health checks: raises if the store does not answer."""
        await self._require_started()
        await self.store.get(self._node_key)

    # -- cross-node close ------------------------------------------------------------------

    async def request_close(self, call_id: str, session_id: str) -> bool:
        """Ask the owner of a session, on any node, to close it; ``False`` if it is not live.

        The request is a key with this registry's ttl; the owner's next maintenance cycle sees it.
        """
        await self._require_started()
        if await self.store.get(session_key(call_id, session_id)) is None:
            return False
        request = dump_json({"requested_at": time.time(), "by": self.node_id})
        await self.store.set(close_key(call_id, session_id), request, self.ttl)
        return True

    async def get_close_requests(self, sessions: Mapping[str, str]) -> list[str]:
        """The session ids among ``sessions`` (session_id -> call_id) with a close request (one ``mget``)."""
        pairs = [(call_id, session_id) for session_id, call_id in sessions.items()]
        return [session_id for _, session_id in await self.close_requested(pairs)]

    async def close_requested(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """The ``(call_id, session_id)`` pairs with a close request, in one ``mget``."""
        await self._require_started()
        wanted = list(pairs)
        if not wanted:
            return []
        flags = await self.store.mget([close_key(call_id, session_id) for call_id, session_id in wanted])
        return [pair for pair, flag in zip(wanted, flags, strict=True) if flag is not None]

    def __repr__(self) -> str:
        owned = len(self._owned)
        return f"<SessionRegistry node_id={self.node_id!r} ttl={self.ttl} store={self.store!r} sessions={owned}>"
