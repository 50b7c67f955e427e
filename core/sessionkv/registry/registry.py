"""``SessionRegistry``: register, inspect, heartbeat and close live sessions across nodes.

Each node registers its sessions in a shared store under the key scheme of
``sessionkv.registry.keys``; any node lists, inspects or requests the close of any session; a
node that stops heartbeating (a crash) loses its sessions within its ttl.

The node's liveness record is the lease. It lives ``ttl`` seconds and every heartbeat re-writes it
(one key, with the heartbeat's time: ``NodeInfo.last_heartbeat`` is the last heartbeat);
session records live ``RECORD_TTL_FACTOR`` times longer and a heartbeat refreshes only the
``1/ROLLING_SLICES`` of them refreshed longest ago. Readers count a session as live only while
its node's record is live and names the same incarnation (one extra batched read of the few node
records involved), so a crash hides a node's sessions within ``ttl`` although their records
linger. A heartbeat therefore writes ``1 + N/ROLLING_SLICES`` keys for N sessions in at most three
store calls: one ``set`` (the node record), one ``touch`` (the slice), and one ``mset`` only when
something must be re-written. A missing slice record (or, on a beat with no slice, a missing node
record: one ``get``) means the store lost data (flush, restart, eviction): that heartbeat checks
every record and re-writes what is missing, so everything is back within one heartbeat. Deletes that failed
are retried by the next heartbeats. A crashed node's records expire with their ttl
(``RECORD_TTL_FACTOR x ttl``); every backend then holds nothing for them (the store contract).

Admission (``register(..., max_per_call=N)``) is a slot, not a count: the call has N slot keys
``a/{<call>}/<i>`` and a session is admitted only by creating one of them with ``add`` (atomic on every
backend), so however many nodes race, at most N hold a slot. A slot has its session's record ttl and is
refreshed in the same ``touch`` as that record, but only on every ``SLOT_REFRESH_EVERY``-th refresh of
the record (or once it is half its ttl old), so a heartbeat writes ``1 + N/ROLLING_SLICES`` keys plus
about ``N/(ROLLING_SLICES x SLOT_REFRESH_EVERY)`` slots at most, not twice the keys; it is deleted with
its record. A slot whose holder's node record is gone
(or names another incarnation) and that is older than the holder's ttl belongs to a crashed node: it
is taken over with ``get_versioned`` + ``cas``, so only one racer wins it, and a crashed node's slots
free up within its ttl. ``max_sessions`` caps this node's own sessions (``NodeFullError``); the node
record publishes that capacity and the load, which ``least_loaded`` ranks from one listing of ``n/``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from ..adapt import adapt
from ..discovery import open_store
from ..errors import CallFullError, ConfigurationError, NodeFullError, UnsupportedOperationError
from ..store import SessionKVStore, supports_versions
from ..telemetry import heartbeat_done, track_registry
from ..url import redact
from .info import NodeInfo, SessionInfo, dump_json, load_object
from .keys import (
    NODE_PREFIX,
    SESSION_PREFIX,
    call_prefix,
    close_key,
    node_key,
    parse_session_key,
    session_key,
    slot_key,
)

log = logging.getLogger("sessionkv.registry")

DEFAULT_TTL = 30.0
#: Session records live this many registry ttls (the node record, not they, is the lease).
RECORD_TTL_FACTOR = 10
#: A heartbeat refreshes this fraction (1/N) of the session records, oldest refresh first.
ROLLING_SLICES = 10
#: An admission slot is touched with its record on every this-many-th refresh of the record (or when
#: ``SLOT_REFRESH_AGE`` x its ttl old): a record is refreshed at least every third of its ttl plus one
#: heartbeat gap (under ``ttl``, a tenth of it), so a slot is at most 0.5 + 0.44 of its ttl old when touched.
SLOT_REFRESH_EVERY = 4
SLOT_REFRESH_AGE = 0.5
#: A stored session record larger than this is not ours (or is an attack): skipped with a warning.
MAX_RECORD_BYTES = 64 * 1024


@dataclass
class _Owned:
    """A session this registry registered: its record, the exact bytes last written, when last refreshed.

    ``slot`` is the admission slot key it holds (``max_per_call``), ``slot_value`` that slot's bytes,
    ``slot_refreshed`` when the slot was last written or touched and ``slot_skips`` the record refreshes since.
    """

    info: SessionInfo
    encoded: bytes
    refreshed: float
    slot: str | None = None
    slot_value: bytes = b""
    slot_refreshed: float = 0.0
    slot_skips: int = 0


@dataclass(frozen=True)
class HeartbeatResult:
    """What one heartbeat did: sessions owned, records re-written after a loss, keys written in all."""

    sessions: int
    restored: int
    keys_written: int = 0


def default_node_id() -> str:
    """``host-pid-random``: unique per process, readable in operator tables."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def check_seconds(value: object, what: str = "ttl") -> float:
    """A registry setting (ttl, interval) as float seconds: a finite number > 0, else ``ConfigurationError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{what} must be > 0 (a finite number of seconds), got {value!r}")
    return float(value)


def check_limit(value: object, what: str) -> int:
    """A limit (``max_per_call``, ``max_sessions``) as an int >= 1, else ``ConfigurationError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{what} must be an integer >= 1, got {value!r}")
    return value


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
    it. A registry used before ``start()`` starts itself. ``max_sessions`` caps the sessions this
    registry registers (``NodeFullError`` beyond it; ``None``: no cap) and is published in the node record.
    """

    def __init__(
        self,
        store: Any = None,
        *,
        node_id: str | None = None,
        ttl: float = DEFAULT_TTL,
        max_sessions: int | None = None,
    ):
        self.ttl = check_seconds(ttl)
        self.max_sessions = None if max_sessions is None else check_limit(max_sessions, "max_sessions")
        #: How long session records live; the node record (``ttl``) is what keeps them visible.
        self.record_ttl = self.ttl * RECORD_TTL_FACTOR
        self.node_id = default_node_id() if node_id is None else node_id
        self._node_key = node_key(self.node_id)  # validates node_id
        if store is None:
            store = open_store("memory://")
        elif isinstance(store, str):
            store = open_store(store)
        self.store: SessionKVStore = adapt(store)
        self.started_at = time.time()
        self.incarnation = secrets.token_hex(8)
        #: this node's sessions, least recently refreshed first
        self._owned: OrderedDict[str, _Owned] = OrderedDict()
        self._pending_deletes: set[str] = set()
        self._write_lock = asyncio.Lock()
        self._started = False
        self._announced_count: int | None = None  # session count in the node record last written
        self._beats = 0
        track_registry(self)  # sessionkv.registry.sessions (sessionkv.telemetry)

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
            if cleanup and (self._owned or self._announced_count is not None or self._pending_deletes):
                keys = [self._node_key, *self._pending_deletes]
                for owned in self._owned.values():
                    keys += [session_key(owned.info.call_id, owned.info.session_id)]
                    keys += [close_key(owned.info.call_id, owned.info.session_id)]
                    keys += [owned.slot] if owned.slot else []
                await self.store.delete(keys)
        except Exception as exc:
            log.warning(
                "registry %s could not delete its records on stop (hidden at once, gone within %s s): %s",
                self.node_id,
                self.record_ttl,
                redact(str(exc)),
            )
        finally:
            self._owned.clear()
            self._pending_deletes.clear()
            self._announced_count = None
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

    def _node_item(self) -> tuple[str, bytes, float]:
        """This node's liveness record as an ``mset`` item (and remember the count it announces)."""
        self._announced_count = len(self._owned)
        record = NodeInfo(
            self.node_id, len(self._owned), self.started_at, time.time(), self.incarnation, self.max_sessions
        )
        return (self._node_key, record.encode(), self.ttl)

    def _encode(self, info: SessionInfo) -> bytes:
        """A session record: the SessionInfo plus this registry's incarnation (checked by readers)."""
        return dump_json({**info.to_dict(), "incarnation": self.incarnation})

    async def register(
        self,
        call_id: str,
        session_id: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        max_per_call: int | None = None,
    ) -> SessionInfo:
        """Record a session as running on this node; heartbeats keep it alive until ``remove``.

        One store call: the record, plus this node's liveness record when it announces a new count.
        ``max_per_call=N`` first takes one of the call's N admission slots (an ``mget`` and an ``add``;
        see the module docstring) and raises ``CallFullError``, writing nothing, when all N are held
        by live sessions. ``NodeFullError`` if this registry already has ``max_sessions`` sessions.
        Re-registering a session it owns keeps its slot.
        """
        await self._require_started()
        key = session_key(call_id, session_id)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping, not {type(metadata).__name__}")
        limit = None if max_per_call is None else check_limit(max_per_call, "max_per_call")
        if limit is not None and not supports_versions(self.store):
            raise UnsupportedOperationError(
                f"max_per_call needs a store with add and cas; {type(self.store).__name__} has neither"
            )
        now = time.time()
        info = SessionInfo(
            session_id=session_id,
            call_id=call_id,
            node_id=self.node_id,
            started_at=now,
            metrics_updated_at=now,
            metadata=dict(metadata or {}),
        )
        encoded = self._encode(info)  # non-JSON metadata fails here, before any I/O
        async with self._write_lock:
            previous = self._owned.get(key)
            if previous is None and self.max_sessions is not None and len(self._owned) >= self.max_sessions:
                raise NodeFullError(self.node_id, self.max_sessions)
            owned = _Owned(info, encoded, time.monotonic())
            if previous is not None and previous.slot:
                owned = replace(previous, info=info, encoded=encoded, refreshed=owned.refreshed)
            elif limit is not None:
                owned.slot, owned.slot_value = await self._claim_slot(call_id, session_id, limit)
                owned.slot_refreshed = owned.refreshed
            slot = owned.slot
            self._owned[key] = owned
            self._owned.move_to_end(key)
            self._pending_deletes.discard(key)
            try:
                await self.store.mset([(key, encoded, self.record_ttl), self._node_item()])
            except BaseException:
                self._owned.pop(key, None)
                if slot is not None:
                    self._pending_deletes.add(slot)  # freed by the next heartbeat (or expires)
                raise
        return info

    async def _claim_slot(self, call_id: str, session_id: str, limit: int) -> tuple[str, bytes]:
        """Take a free admission slot of the call (``add``) or a crashed node's (``cas``); else ``CallFullError``."""
        holder = {
            "node_id": self.node_id,
            "incarnation": self.incarnation,
            "session_id": session_id,
            "claimed_at": time.time(),
            "grace": self.ttl,
        }
        value = dump_json(holder)
        keys = [slot_key(call_id, index) for index in range(limit)]
        for key, raw in zip(keys, await self.store.mget(keys), strict=True):
            if raw is None and await self.store.add(key, value, self.record_ttl):
                return key, value
        # Every slot is taken: read them with their versions and take over those of crashed nodes.
        held = [(key, await self.store.get_versioned(key)) for key in keys]
        for key, current in held:
            if current is None and await self.store.add(key, value, self.record_ttl):
                return key, value
        taken = [(key, current) for key, current in held if current is not None]
        holders = [_slot_holder(current.value) for _, current in taken]
        node_ids = sorted({found[0] for found in holders if found is not None})
        values = await self.store.mget([node_key(node_id) for node_id in node_ids]) if node_ids else []
        incarnations = {node_id: _incarnation(raw) for node_id, raw in zip(node_ids, values, strict=True) if raw}
        now = time.time()
        for (key, current), found in zip(taken, holders, strict=True):
            if found is not None:
                node_id, incarnation, expires = found
                if now <= expires or (incarnation is not None and incarnations.get(node_id) == incarnation):
                    continue  # a live session's slot (or one claimed too recently to judge)
            if await self.store.cas(key, value, self.record_ttl, version=current.version) is not None:
                log.info("registry %s took over slot %r of call %r from a crashed node", self.node_id, key, call_id)
                return key, value
        raise CallFullError(call_id, limit)

    async def remove(self, call_id: str, session_id: str) -> None:
        """Delete a session's record and its close request (one store call); this node stops refreshing it.

        Meant for this node's own sessions; to end another node's session use ``request_close``.
        A delete that fails is retried by the next heartbeats (the error is still raised).
        """
        await self._require_started()
        key = session_key(call_id, session_id)
        keys = [key, close_key(call_id, session_id)]
        async with self._write_lock:
            owned = self._owned.pop(key, None)
            if owned is not None and owned.slot:
                keys.append(owned.slot)
            try:
                await self.store.delete(keys)
            except BaseException:
                self._pending_deletes.update(keys)
                raise

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
                encoded = self._encode(info)
                await self.store.set(key, encoded, self.record_ttl)
                self._owned[key] = replace(owned, info=info, encoded=encoded, refreshed=time.monotonic())
                self._owned.move_to_end(key)
                return info
        found = await self._read_record(key)
        if found is None:
            return None
        remote, data = found
        merged = {**remote.metrics, **new} if merge else new
        remote = replace(remote, metrics=merged, metrics_updated_at=time.time())
        encoded = dump_json({**data, **remote.to_dict()})  # keeps the owner's incarnation
        await self.store.set(key, encoded, self.record_ttl, only_if_exists=True)
        return remote

    def owned_sessions(self) -> list[tuple[str, str]]:
        """``(call_id, session_id)`` of every session this registry registered and has not removed."""
        return [(owned.info.call_id, owned.info.session_id) for owned in self._owned.values()]

    def _slice(self) -> list[str]:
        """The records this heartbeat refreshes: a 1/ROLLING_SLICES share, oldest refresh first.

        Slices are sized so that they add up to N over ROLLING_SLICES heartbeats, plus any record
        refreshed longer ago than a third of its ttl (catch-up after failed heartbeats).
        """
        total = len(self._owned)
        size = total // ROLLING_SLICES + (1 if self._beats % ROLLING_SLICES < total % ROLLING_SLICES else 0)
        overdue = time.monotonic() - self.record_ttl / 3
        chosen: list[str] = []
        for key, owned in self._owned.items():
            if len(chosen) >= size and owned.refreshed > overdue:
                break
            chosen.append(key)
        return chosen

    async def heartbeat(self) -> HeartbeatResult:
        """Keep this node's sessions alive: ``1 + N/ROLLING_SLICES`` keys written, two store calls.

        One ``set`` re-writes the node record (the lease, with this heartbeat's time and session
        count), one ``touch`` moves a slice of the session records (a beat whose slice is empty reads
        the node record instead), with the admission slots due among them (``_slots_due``). If a record
        or slot was missing the store lost data: every other record and slot is checked too, all missing
        records are re-written in one ``mset`` and missing slots re-taken with ``add``.
        """
        await self._require_started()
        started = time.perf_counter()
        self._beats += 1
        await self._retry_deletes()
        chunk = self._slice()
        # A lost slice record tells a store that lost data; with no slice this beat, the node record does
        # (one read, no write).
        node_lost = not chunk and await self.store.get(self._node_key) is None
        async with self._write_lock:  # the record announces the session count of this moment
            await self.store.set(*self._node_item())
        slots = self._slots_due(chunk)
        missing = await self.store.touch(chunk + list(slots), self.record_ttl) if chunk else []
        written = 1 + len(chunk) + len(slots)
        now = time.monotonic()
        for key in chunk:
            owned = self._owned.get(key)
            if owned is not None:
                owned.refreshed = now
                owned.slot_skips += 1
                self._owned.move_to_end(key)
        if node_lost or missing:
            chunked = set(chunk)
            rest = [key for key in self._owned if key not in chunked]
            rest_slots = {slot: key for slot, key in self._slots_of(self._owned).items() if slot not in slots}
            if rest or rest_slots:
                missing += await self.store.touch(rest + list(rest_slots), self.record_ttl)
                written += len(rest) + len(rest_slots)
                slots.update(rest_slots)
        lost = set(missing)
        for slot, key in slots.items():
            owned = self._owned.get(key)
            if owned is not None and slot not in lost:
                owned.slot_refreshed, owned.slot_skips = now, 0
        async with self._write_lock:
            # A session removed meanwhile is gone from _owned: never resurrect it.
            items = [(key, self._owned[key].encoded, self.record_ttl) for key in missing if key in self._owned]
            restored = len(items)
            if items:
                await self.store.mset(items)
                written += len(items)
            for slot in (key for key in missing if key in slots and slots[key] in self._owned):
                written += 1
                owned = self._owned[slots[slot]]
                owned.slot_refreshed, owned.slot_skips = time.monotonic(), 0
                if not await self.store.add(slot, owned.slot_value, self.record_ttl):
                    log.warning("registry %s lost admission slot %r to another registration", self.node_id, slot)
        if restored:
            log.warning("registry %s restored %d session records the store had lost", self.node_id, restored)
        heartbeat_done(self, started, restored)
        return HeartbeatResult(sessions=len(self._owned), restored=restored, keys_written=written)

    def _slots_due(self, chunk: list[str]) -> dict[str, str]:
        """The admission slots of this slice's records that this beat touches: slot key -> record key.

        A slot is due on every ``SLOT_REFRESH_EVERY``-th refresh of its record, or when it is more than
        ``SLOT_REFRESH_AGE`` of its ttl old (slow or irregular heartbeats), so most beats touch records only.
        """
        oldest = time.monotonic() - SLOT_REFRESH_AGE * self.record_ttl
        due: dict[str, str] = {}
        for key in chunk:
            owned = self._owned.get(key)
            if owned is not None and owned.slot:
                if owned.slot_skips + 1 >= SLOT_REFRESH_EVERY or owned.slot_refreshed < oldest:
                    due[owned.slot] = key
        return due

    def _slots_of(self, keys: Iterable[str]) -> dict[str, str]:
        """slot key -> session record key, for the given records' admission slots."""
        found: dict[str, str] = {}
        for key in keys:
            owned = self._owned.get(key)
            if owned is not None and owned.slot:
                found[owned.slot] = key
        return found

    async def _retry_deletes(self) -> None:
        """Delete what an earlier ``remove`` failed to (records would otherwise linger until their ttl)."""
        if not self._pending_deletes:
            return
        keys = sorted(self._pending_deletes)
        try:
            await self.store.delete(keys)
        except Exception as exc:
            log.warning("registry %s could not delete %d removed records yet: %s", self.node_id, len(keys), exc)
            return
        self._pending_deletes.difference_update(keys)

    async def refresh(self, sessions: Mapping[str, str]) -> list[str]:
        """Refresh the given sessions (session_id -> call_id) and this node's record now, in one ``touch``.

        The published API's explicit refresh: records of this node's sessions that the store lost
        are re-written (one ``mset``); returns the session ids whose records were missing.
        """
        await self._require_started()
        keys = {session_key(call_id, session_id): session_id for session_id, call_id in sessions.items()}
        missing = await self.store.touch(list(keys), self.record_ttl) if keys else []
        async with self._write_lock:
            lost = [(key, self._owned[key].encoded, self.record_ttl) for key in missing if key in self._owned]
            await self.store.mset([*lost, self._node_item()])
        return [keys[key] for key in missing]

    # -- every node's sessions -------------------------------------------------------------

    async def get(self, call_id: str, session_id: str) -> SessionInfo | None:
        """One session, wherever it runs; ``None`` if it is not live (or its record is corrupt)."""
        await self._require_started()
        found = await self._read_record(session_key(call_id, session_id))
        return None if found is None else found[0]

    async def _read_record(self, key: str) -> tuple[SessionInfo, dict[str, Any]] | None:
        """A live session's record and its raw fields, or ``None`` (two reads: record, then its node)."""
        raw = await self.store.get(key)
        decoded = None if raw is None else self._decode(key, raw)
        if decoded is None:
            return None
        live = await self._live([decoded])
        return decoded if live else None

    async def get_for_call(self, call_id: str) -> list[SessionInfo]:
        """Every live session of one call across all nodes, oldest first (two store calls: ``items`` of the
        call's directory, one ``mget`` of their nodes' records; Redis answers the first in one script)."""
        await self._require_started()
        return await self._sessions_under(call_prefix(call_id))

    async def list_sessions(self) -> list[SessionInfo]:
        """Every live session of every call on every node, by call then age."""
        await self._require_started()
        found = await self._sessions_under(SESSION_PREFIX)
        return sorted(found, key=lambda info: (info.call_id, info.started_at, info.session_id))

    async def _sessions_under(self, prefix: str) -> list[SessionInfo]:
        decoded = [self._decode(key, raw) for key, raw in await self.store.items(prefix)]
        live = await self._live([item for item in decoded if item is not None])
        return sorted((info for info, _ in live), key=lambda info: (info.started_at, info.session_id))

    async def _live(
        self, records: list[tuple[SessionInfo, dict[str, Any]]]
    ) -> list[tuple[SessionInfo, dict[str, Any]]]:
        """The records whose node record is live and names the same incarnation (one ``mget``)."""
        if not records:
            return []
        node_ids = sorted({info.node_id for info, _ in records})
        values = await self.store.mget([node_key(node_id) for node_id in node_ids])
        incarnations: dict[str, str | None] = {}
        for node_id, raw in zip(node_ids, values, strict=True):
            if raw is None:
                continue
            try:
                incarnations[node_id] = NodeInfo.decode(raw).incarnation
            except ValueError as exc:
                log.warning("skipping corrupt node record of %r: %s", node_id, exc)
        live: list[tuple[SessionInfo, dict[str, Any]]] = []
        for info, data in records:
            if info.node_id not in incarnations:
                continue  # its node is gone (crashed or stopped): expected, not an error
            if data.get("incarnation") != incarnations[info.node_id]:
                log.warning(
                    "skipping session record of call %r session %r: it claims node %r but not that node's "
                    "current incarnation (a record of a crashed process, or not written by that node)",
                    info.call_id,
                    info.session_id,
                    info.node_id,
                )
                continue
            live.append((info, data))
        return live

    def _decode(self, key: str, raw: bytes) -> tuple[SessionInfo, dict[str, Any]] | None:
        """Decode an untrusted record; log and skip it if it is corrupt, huge or names another session."""
        if len(raw) > MAX_RECORD_BYTES:
            log.warning("skipping session record %r: %d bytes, over the %d-byte limit", key, len(raw), MAX_RECORD_BYTES)
            return None
        try:
            data = load_object(raw)
            info = SessionInfo.from_record(data)
        except ValueError as exc:
            log.warning("skipping corrupt session record %r: %s", key, exc)
            return None
        if parse_session_key(key) != (info.call_id, info.session_id):
            log.warning("skipping session record %r: it names call %r session %r", key, info.call_id, info.session_id)
            return None
        return info, data

    async def nodes(self) -> list[NodeInfo]:
        """Every live node (one that heartbeated within the ttl) with its session count."""
        await self._require_started()
        found: list[NodeInfo] = []
        for key, raw in await self.store.items(NODE_PREFIX):
            try:
                found.append(NodeInfo.decode(raw))
            except ValueError as exc:
                log.warning("skipping corrupt node record %r: %s", key, exc)
        return sorted(found, key=lambda node: node.node_id)

    async def least_loaded(self, k: int = 1) -> list[NodeInfo]:
        """Up to ``k`` live nodes with the most free capacity, most free first ("least connections").

        From the node records alone (one ``items`` of ``n/``): a node's free capacity is its
        ``max_sessions`` minus its sessions, unbounded without ``max_sessions``; full nodes are left out,
        ties go to fewer sessions, then node id.
        """
        wanted = check_limit(k, "k")
        found = [node for node in await self.nodes() if node.free > 0]
        found.sort(key=lambda node: (-node.free, node.sessions, node.node_id))
        return found[:wanted]

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
        if await self._read_record(session_key(call_id, session_id)) is None:
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


def _slot_holder(raw: bytes) -> tuple[str, str | None, float] | None:
    """``(node_id, incarnation, judge_after)`` of an admission slot's value; ``None`` if unreadable (taken over)."""
    try:
        data = load_object(raw)
        node_id, incarnation = data["node_id"], data.get("incarnation")
        claimed_at, grace = float(data["claimed_at"]), float(data["grace"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(node_id, str) or not (incarnation is None or isinstance(incarnation, str)):
        return None
    return node_id, incarnation, claimed_at + grace


def _incarnation(raw: bytes | None) -> str | None:
    """The incarnation a node record names; ``None`` if absent or corrupt."""
    if raw is None:
        return None
    try:
        return NodeInfo.decode(raw).incarnation
    except ValueError:
        return None
