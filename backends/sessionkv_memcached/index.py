"""The directory index that lets ``keys(prefix)`` list a memcached namespace completely and cheaply.

Each directory (see ``keyspace``) has ``INDEX_SHARDS`` index items holding the names of its leaves
and sub-directories. Writers only ever *append* (``ms ... MA``, atomic on the server), after the
data item and deepest directory first, so concurrent writers never overwrite each other. An index
item that does not exist yet is created (``ME``, i.e. add) with a random *epoch* in its client
flags; then every ancestor is appended again, so a lister that pruned the parent entry while the
item was missing cannot hide the new key. Repeats are removed, and dead entries pruned, only by a
compare-and-swap rewrite (``ms ... C<cas>``; an emptied item is ``md ... C<cas>``): any append in
between makes it fail, so nothing a writer added is ever lost.

Footprint: index items expire with their last member. Every write knows its keys' deadlines; an
index item is created with the deadline of the keys it files (``T`` on the ``ME``), and a write whose
key outlives what this store last set on a shard adds ``mg <shard> T<deadline + slack>`` to the same
pipeline (``raise_due``; an append keeps the item's old exptime). A new item gets one second more
than its keys (memcached's clock ticks per second: a key written in the next second needs no
re-timing). The slack (a quarter of the ttl, at least a second) means a busy directory is re-timed
once per slack, not per write, and it outlives its last member by at most that. A shard never
re-timed lower is safe for one store: the deadlines it remembers are capped (``MAX_TRACKED``), and when
the cap forces it to forget deadlines still to come, every shard it no longer knows is re-timed to at
least the latest of them (``_horizon``), never to the new key's alone. Two stores writing one directory
with different ttls can shorten it, which then behaves as an eviction (below).
Dead entries go with the compaction that already exists: it checks each entry (a leaf's data item,
a sub-directory's index items) and rewrites the shard without the dead ones, keeping its exptime
(``t``), so a directory that saw a million expired keys holds only its live names. A shard that
holds more live names than memcached's item size limit makes the write fail loudly
(``ProtocolError``), never silently drop a name.

memcached may evict index items like any other. ``touch`` (the registry's heartbeat) compares the
epoch of every index item on its keys' paths with the one it last saw and re-appends its live keys
where it changed or vanished; ``set``/``mset`` always append, so re-writing a lost record repairs
its path too.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from aiomcache.pool import Connection

from .keyspace import INDEX_SHARDS, LEAF, SUBDIR, KeySpace, chain, decode_entries, encode_entry, shard_of, split
from .protocol import Meta, Pipeline, ProtocolError

#: Rounds of create/append before giving up on an index item that keeps vanishing (eviction storm).
MAX_ROUNDS = 8
#: A shard is compacted (repeats removed) once a store appended this many bytes to it, or as many as
#: it held at its last compaction, whichever is more: amortised O(1) per append.
COMPACT_MIN = 16 * 1024
#: Local bookkeeping (epochs, appended bytes, deadlines) is forgotten beyond this many shards.
MAX_TRACKED = 200_000
#: A re-timed shard lives this fraction of the ttl past the deadline that needed it (at least 1 s).
SLACK = 0.25

#: Turns a deadline (this machine's Unix time) into memcached's exptime for it (never early).
ExptimeOf = Callable[[float], int]


@dataclass
class ShardWrite:
    """Entries to append to one index shard, and where that shard sits in the tree."""

    directory: str
    entries: dict[bytes, None] = field(default_factory=dict)
    #: the latest deadline (Unix time) among the keys this write files under the shard
    deadline: float = 0.0

    @property
    def depth(self) -> int:
        return self.directory.count("/")

    def payload(self) -> bytes:
        return b"".join(self.entries)


#: index shard server key -> what to append to it
Plan = dict[bytes, ShardWrite]


@dataclass
class ShardRead:
    """An index shard as read by a listing: its cas, flags, entries and which names were examined."""

    key: bytes
    directory: str
    rest: str
    cas: int
    flags: int
    entries: list[tuple[bytes, str]]
    #: remaining seconds of the item (``t``; -1: never expires)
    ttl: int = -1


def _epoch() -> int:
    return secrets.randbelow(2**32 - 1) + 1


def _deepest_first(keys: Iterable[bytes], plan: Plan) -> list[bytes]:
    return sorted(keys, key=lambda k: -plan[k].depth)


class DirectoryIndex:
    """Plans, writes, repairs and lists the directory index of one namespace (see the module docstring)."""

    def __init__(self, space: KeySpace, exptime_of: ExptimeOf) -> None:
        self.space = space
        self._exptime_of = exptime_of
        self._deadlines: dict[bytes, float] = {}
        #: the latest deadline this store forgot before it passed: the floor for re-timing a shard it forgot
        self._horizon = 0.0
        self._epochs: dict[bytes, int] = {}
        self._appended: dict[bytes, int] = {}
        self._compacted_size: dict[bytes, int] = {}
        self._shard_keys: dict[tuple[str, int], bytes] = {}

    # -- writing ---------------------------------------------------------------------------------

    def plan(self, keys: Iterable[str], deadlines: Iterable[float] | float = 0.0) -> Plan:
        """The appends that make every key of ``keys`` reachable from the root (each directory's path once),
        each shard with the latest deadline of the keys below it (one per key, or one for all)."""
        plan: Plan = {}
        latest: dict[str, float] = {}  # directory -> latest deadline of a key at or below it
        keys = list(keys)
        every = [float(deadlines)] * len(keys) if isinstance(deadlines, (int, float)) else list(deadlines)
        for key, deadline in zip(keys, every, strict=True):
            directory, leaf = split(key)
            self._add(plan, directory, LEAF, leaf, deadline)
            while directory and latest.get(directory, -1.0) < deadline:
                latest[directory] = deadline
                parent, name = split(directory[:-1])
                self._add(plan, parent, SUBDIR, name, deadline)
                directory = parent
        return plan

    def _add(self, plan: Plan, directory: str, kind: bytes, name: str, deadline: float) -> None:
        shard_key = self._shard_key(directory, shard_of(name))
        write = plan.get(shard_key)
        if write is None:
            write = plan[shard_key] = ShardWrite(directory)
        write.entries[encode_entry(kind, name)] = None
        write.deadline = max(write.deadline, deadline)

    def _shard_key(self, directory: str, shard: int) -> bytes:
        cached = self._shard_keys.get((directory, shard))
        if cached is None:
            if len(self._shard_keys) >= MAX_TRACKED:
                self._shard_keys.clear()
            cached = self._shard_keys[(directory, shard)] = self.space.shard(directory, shard)
        return cached

    def append(self, pipe: Pipeline, plan: Plan, only: Iterable[bytes] | None = None) -> list[bytes]:
        """Queue appends for ``plan`` (or its shards in ``only``), deepest first; returns their order."""
        order = _deepest_first(plan if only is None else only, plan)
        for shard_key in order:
            payload = plan[shard_key].payload()
            pipe.meta_set(shard_key, payload, b"MA")
            self._count(shard_key, len(payload))
        return order

    def raise_due(self, pipe: Pipeline, plan: Plan, only: Iterable[bytes] | None = None) -> list[bytes]:
        """Queue ``mg <shard> T<...>`` for the shards whose new deadline passes what this store last set on them
        (module docstring); returns them, in order. ``settled`` reads their replies."""
        due = [k for k in (plan if only is None else only) if plan[k].deadline > self._deadlines.get(k, 0.0)]
        for shard_key in due:
            pipe.meta_get(shard_key, b"T%d" % self._exptime_of(self._retimed(shard_key, plan[shard_key].deadline)))
        return due

    def settled(self, plan: Plan, due: list[bytes], replies: Iterable[object]) -> None:
        """Remember the deadlines ``raise_due`` set (a miss is created by ``settle``, with its deadline)."""
        for shard_key, reply in zip(due, replies, strict=True):
            if _hit(reply):
                self._remember_deadline(shard_key, self._retimed(shard_key, plan[shard_key].deadline))

    def _retimed(self, shard_key: bytes, deadline: float) -> float:
        """The deadline a re-timed shard gets: ``deadline`` plus slack, and never less than ``_horizon`` for a
        shard whose last deadline this store forgot (it may name keys that live until then)."""
        slacked = deadline + max(1.0, (deadline - time.time()) * SLACK)
        return slacked if shard_key in self._deadlines else max(slacked, self._horizon)

    async def settle(self, conn: Connection, plan: Plan, order: list[bytes], replies: Iterable[object]) -> None:
        """Finish appends that found no index item: create it, then append every ancestor again.

        (An append refused for size is memcached's SERVER_ERROR, which ``Pipeline.run`` raises as ``ProtocolError``.)
        """
        create = {k: True for k, reply in zip(order, replies, strict=True) if not _hit(reply)}
        for _ in range(MAX_ROUNDS):
            if not create:
                break
            created_dirs = {plan[k].directory for k in create}
            ancestors = {
                k
                for k, write in plan.items()
                if k not in create and any(d != write.directory and d.startswith(write.directory) for d in created_dirs)
            }
            pipe = Pipeline()
            order = _deepest_first([*create, *ancestors], plan)
            modes: list[bool] = []
            for shard_key in order:
                is_create = create.get(shard_key, False)
                if is_create:
                    # one second past its keys: memcached's clock ticks per second, so a key written within
                    # the next second (same ttl) expires no later, and needs no re-timing
                    epoch, deadline = _epoch(), plan[shard_key].deadline + 1 if plan[shard_key].deadline else 0.0
                    exptime = b" T%d" % self._exptime_of(deadline) if deadline else b""
                    pipe.meta_set(shard_key, plan[shard_key].payload(), b"ME F%d%s" % (epoch, exptime))
                    self._remember_epoch(shard_key, epoch)
                    self._remember_deadline(shard_key, deadline)
                else:
                    pipe.meta_set(shard_key, plan[shard_key].payload(), b"MA")
                modes.append(is_create)
            replies = await pipe.run(conn)
            # An add that found the item (another writer made it) appends next round, and vice versa.
            create = {k: not mode for k, mode, r in zip(order, modes, replies, strict=True) if not _hit(r)}
        if create:
            raise ProtocolError(f"directory index items kept vanishing after {MAX_ROUNDS} attempts (eviction storm?)")

    async def compact_due(self, conn: Connection, plan: Plan) -> None:
        """Rewrite the shards of ``plan`` this store appended a lot to, without repeated or dead entries (cas-safe).

        Each entry is checked once per compaction (a leaf's data item, a sub-directory's index items), and a
        shard is compacted only after as many bytes were appended as it held: amortised O(1) per append."""
        due = [k for k in plan if self._appended.get(k, 0) >= max(COMPACT_MIN, self._compacted_size.get(k, 0))]
        if not due:
            return
        pipe = Pipeline()
        for shard_key in due:
            pipe.meta_get(shard_key, b"v c f t")
            self._appended[shard_key] = 0
        reads: list[tuple[bytes, Meta, list[tuple[bytes, str]]]] = []
        for shard_key, reply in zip(due, await pipe.run(conn), strict=True):
            if isinstance(reply, Meta) and reply.value is not None:
                reads.append((shard_key, reply, list(dict.fromkeys(decode_entries(reply.value)))))
        alive = await self._alive(conn, [(plan[k].directory, entries) for k, _, entries in reads])
        rewrite = Pipeline()
        for shard_key, reply, entries in reads:
            directory = plan[shard_key].directory
            kept = [(kind, name) for kind, name in entries if (kind, directory + name) in alive]
            payload = b"".join(encode_entry(kind, name) for kind, name in kept)
            self._compacted_size[shard_key] = len(payload)
            cas, flags, ttl = reply.int_flag(b"c") or 0, reply.int_flag(b"f") or 0, reply.int_flag(b"t")
            if not kept:
                rewrite.meta_delete(shard_key, b"C%d" % cas)
            elif len(payload) < len(reply.value or b""):
                rewrite.meta_set(shard_key, payload, b"C%d F%d%s" % (cas, flags, _keep_ttl(ttl)))
        await rewrite.run(conn)  # EX (someone appended meanwhile) or NF (evicted): fine, try again later

    async def _alive(
        self, conn: Connection, shards: list[tuple[str, list[tuple[bytes, str]]]]
    ) -> set[tuple[bytes, str]]:
        """Which ``(kind, directory + name)`` entries still name something: a leaf whose data item exists, a
        sub-directory with at least one index item. One pipeline of ``mg`` without flags (no value read)."""
        pipe = Pipeline()
        asked: list[tuple[tuple[bytes, str], int]] = []
        for directory, entries in shards:
            for kind, name in entries:
                full = directory + name
                if kind == LEAF:
                    pipe.meta_get(self.space.data(full))
                    asked.append(((kind, full), 1))
                else:
                    for shard in range(INDEX_SHARDS):
                        pipe.meta_get(self.space.shard(full + "/", shard))
                    asked.append(((kind, full), INDEX_SHARDS))
        replies = iter(await pipe.run(conn))
        alive: set[tuple[bytes, str]] = set()
        for entry, count in asked:
            if sum(_hit(next(replies)) for _ in range(count)):
                alive.add(entry)
        return alive

    def error_for(self, key: str, broken: Mapping[bytes, BaseException]) -> BaseException | None:
        """The error of a shard in ``broken`` that files an entry of ``key``'s path (a coalesced set fails only
        the callers whose keys an index error concerns), or None."""
        for link in chain(key):
            error = broken.get(self._shard_key(link.directory, link.shard))
            if error is not None:
                return error
        return None

    # -- repairing after eviction (touch) ---------------------------------------------------------

    def check_epochs(self, pipe: Pipeline, plan: Plan) -> list[bytes]:
        """Queue an epoch read (``mg <shard> f``) for each shard of ``plan``; returns their order."""
        order = list(plan)
        for shard_key in order:
            pipe.meta_get(shard_key, b"f")
        return order

    def changed(self, order: list[bytes], replies: Iterable[object]) -> set[bytes]:
        """Shards whose epoch differs from the one last seen (evicted, re-created, or never seen)."""
        changed: set[bytes] = set()
        for shard_key, reply in zip(order, replies, strict=True):
            epoch = reply.int_flag(b"f") if isinstance(reply, Meta) and reply.hit else None
            if epoch is None or self._epochs.get(shard_key) != epoch:
                changed.add(shard_key)
                if epoch is not None:
                    self._remember_epoch(shard_key, epoch)
        return changed

    # -- listing ----------------------------------------------------------------------------------

    async def listing(self, conn: Connection, prefix: str) -> tuple[list[str], int]:
        """Live keys starting with ``prefix`` (read the index down from ``prefix``'s directory, check each leaf), and
        how many index entries were read to find them."""
        directory, rest = split(prefix)
        frontier = [(directory, rest)]
        reads: list[ShardRead] = []
        missing_dirs: set[str] = set()
        leaves: dict[str, None] = {}
        examined = 0
        while frontier:
            pipe = Pipeline()
            for path, _ in frontier:
                for shard in range(INDEX_SHARDS):
                    pipe.meta_get(self.space.shard(path, shard), b"v c f t")
            replies = iter(await pipe.run(conn))
            subdirs: dict[str, None] = {}
            for path, wanted in frontier:
                present = False
                for shard in range(INDEX_SHARDS):
                    reply = next(replies)
                    if not isinstance(reply, Meta) or reply.value is None:
                        continue
                    present = True
                    entries = decode_entries(reply.value)
                    examined += len(entries)
                    key = self.space.shard(path, shard)
                    cas, flags = reply.int_flag(b"c") or 0, reply.int_flag(b"f") or 0
                    ttl = reply.int_flag(b"t")
                    reads.append(ShardRead(key, path, wanted, cas, flags, entries, -1 if ttl is None else ttl))
                    for kind, name in entries:
                        if name.startswith(wanted):
                            if kind == LEAF:
                                leaves[path + name] = None
                            else:
                                subdirs[path + name + "/"] = None
                if not present:
                    missing_dirs.add(path)
            frontier = [(path, "") for path in subdirs]
        live = await self._live(conn, list(leaves))
        await self._prune(conn, reads, live, missing_dirs)
        return [key for key in leaves if key in live], examined

    async def _live(self, conn: Connection, keys: list[str]) -> set[str]:
        pipe = Pipeline()
        for key in keys:
            pipe.meta_get(self.space.data(key))
        replies = await pipe.run(conn)
        return {key for key, reply in zip(keys, replies, strict=True) if _hit(reply)}

    async def _prune(self, conn: Connection, reads: list[ShardRead], live: set[str], missing_dirs: set[str]) -> None:
        """Drop repeats, dead leaves and vanished sub-directories by cas; a concurrent append wins.

        Deepest directories first, one pipeline per depth: a directory whose every shard this prune deleted
        counts as vanished for its parent's entries in the same listing, so a namespace emptied by ``delete``
        leaves no index item after one listing (a writer appends a child's entry before its parent's, so a
        parent rewritten after the child's deletion never loses a name written since).
        """
        by_depth: dict[int, list[ShardRead]] = {}
        for read in reads:
            by_depth.setdefault(read.directory.count("/"), []).append(read)
        for depth in sorted(by_depth, reverse=True):
            pipe, queued = Pipeline(), []
            for read in by_depth[depth]:
                kept = self._kept(read, live, missing_dirs)
                if len(kept) == len(read.entries):
                    continue
                if kept:
                    payload = b"".join(encode_entry(kind, name) for kind, name in kept)
                    pipe.meta_set(read.key, payload, b"C%d F%d%s" % (read.cas, read.flags, _keep_ttl(read.ttl)))
                else:
                    pipe.meta_delete(read.key, b"C%d" % read.cas)
                queued.append((read, not kept))
            if not queued:
                continue
            replies = await pipe.run(conn)  # EX/NF: someone appended (or it was evicted); the next listing prunes
            outcomes = zip(queued, replies, strict=True)
            deleted = {read.key for (read, dropped), reply in outcomes if dropped and _hit(reply)}
            present: dict[str, list[ShardRead]] = {}
            for read in by_depth[depth]:
                present.setdefault(read.directory, []).append(read)
            for directory, shards in present.items():
                if all(read.key in deleted for read in shards):
                    missing_dirs.add(directory)

    @staticmethod
    def _kept(read: ShardRead, live: set[str], missing_dirs: set[str]) -> list[tuple[bytes, str]]:
        """The entries of ``read`` a prune keeps: each once, minus examined dead leaves and vanished directories."""
        kept: dict[tuple[bytes, str], None] = {}
        for kind, name in read.entries:
            full = read.directory + name
            examined = name.startswith(read.rest)
            dead = examined and (full not in live if kind == LEAF else full + "/" in missing_dirs)
            if not dead:
                kept[(kind, name)] = None
        return list(kept)

    # -- bookkeeping ------------------------------------------------------------------------------

    def _remember_epoch(self, shard_key: bytes, epoch: int) -> None:
        if len(self._epochs) >= MAX_TRACKED:
            self._epochs.clear()
        self._epochs[shard_key] = epoch

    def _remember_deadline(self, shard_key: bytes, deadline: float) -> None:
        if len(self._deadlines) >= MAX_TRACKED and shard_key not in self._deadlines:
            self._forget_deadlines()
        self._deadlines[shard_key] = deadline

    def _forget_deadlines(self) -> None:
        """Make room: forget the deadlines that have passed, then, if half the cap is still in use, the earliest
        ones, raising ``_horizon`` to the latest deadline forgotten before it passed."""
        now = time.time()
        kept = sorted((deadline, key) for key, deadline in self._deadlines.items() if deadline > now)
        surplus = len(kept) - MAX_TRACKED // 2
        if surplus > 0:
            self._horizon = max(self._horizon, kept[surplus - 1][0])
            kept = kept[surplus:]
        self._deadlines = {key: deadline for deadline, key in kept}

    def _count(self, shard_key: bytes, size: int) -> None:
        if len(self._appended) >= MAX_TRACKED:
            self._appended.clear()
            self._compacted_size.clear()
        self._appended[shard_key] = self._appended.get(shard_key, 0) + size


def _hit(reply: object) -> bool:
    return isinstance(reply, Meta) and reply.hit


def _keep_ttl(ttl: int | None) -> bytes:
    """The ``T`` flag that keeps a rewritten item's remaining ttl (``t``); none for an item that never expires."""
    if ttl is None or ttl < 0:
        return b""
    return b" T%d" % max(1, ttl)
