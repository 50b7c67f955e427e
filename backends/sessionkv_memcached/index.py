"""The directory index that lets ``keys(prefix)`` list a memcached namespace completely and cheaply.

Each directory (see ``keyspace``) has ``INDEX_SHARDS`` index items holding the names of its leaves
and sub-directories. Writers only ever *append* (``ms ... MA``, atomic on the server), after the
data item and deepest directory first, so concurrent writers never overwrite each other. An index
item that does not exist yet is created (``ME``, i.e. add) with a random *epoch* in its client
flags; then every ancestor is appended again, so a lister that pruned the parent entry while the
item was missing cannot hide the new key. Repeats are removed, and dead entries pruned, only by a
compare-and-swap rewrite (``ms ... C<cas>``; an emptied item is ``md ... C<cas>``): any append in
between makes it fail, so nothing a writer added is ever lost. Under writers appending all the time the rewrite
is retried at once (one round trip), and an item that filled up anyway (memcached refuses the append, ``NS``) is
compacted by the writer that meets it before it appends again.

Footprint: index items expire with their last member. Every write knows its keys' deadlines; an
index item is created with the deadline of the keys it files (``T`` on the ``ME``), and a write whose
key outlives what this store last set on a shard adds ``mg <shard> T<deadline + slack>`` to the same
pipeline (``raise_due``; an append keeps the item's old exptime), twice, around an empty append: a touch leaves
the cas alone, and a compaction or prune that read the item before it would otherwise put back the old ttl with
its cas rewrite (``raise_due`` says why this order is safe). A new item gets one second more
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
#: Times a compaction reads a shard again after its compare-and-swap lost to a concurrent append.
COMPACT_RETRIES = 4
#: Outcomes of compacting one shard (``DirectoryIndex._compact``).
REWRITTEN, COMPACT, GONE, LOST = "rewritten", "compact", "gone", "lost"
#: Local bookkeeping (epochs, appended bytes, deadlines) is forgotten beyond this many shards.
MAX_TRACKED = 200_000
#: A re-timed shard lives this fraction of the ttl past the deadline that needed it (at least 1 s).
SLACK = 0.25
#: Commands (and replies) per re-timed shard: touch, empty append, touch (``DirectoryIndex.raise_due``).
RETIME_COMMANDS = 3

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
#: an index entry: its kind (``LEAF``, ``SUBDIR``) and name
Entry = tuple[bytes, str]
#: liveness checks queued by ``DirectoryIndex._ask_alive``: each entry (kind, full name) and how many replies it reads
Asked = list[tuple[Entry, int]]


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
        """Queue the re-timing of the shards whose new deadline passes what this store last set on them (module
        docstring); returns them, in order. Each takes ``RETIME_COMMANDS`` replies, which ``settled`` reads.

        A re-timing is ``mg T<x>``, an empty append (``ms <shard> S0 MA``), ``mg T<x>`` again, in this order on one
        connection. memcached's touch leaves an item's cas alone, and a cas rewrite (compaction, a listing's prune)
        puts back the ttl it read; so a bare ``mg T`` landing between a rewrite's read and its ``ms C<cas>`` was
        undone, and the item expired before the keys it names. The empty append changes the cas (and nothing
        else), so a rewrite that lands after the second touch read after the append, hence after the first
        touch, and keeps at least its ttl; a rewrite that lands before the second touch is re-timed by it. So no
        rewrite shortens the item below what this re-timing set (a lower re-timing by another store still can:
        module docstring)."""
        due = [k for k in (plan if only is None else only) if plan[k].deadline > self._deadlines.get(k, 0.0)]
        for shard_key in due:
            retime = b"T%d" % self._exptime_of(self._retimed(shard_key, plan[shard_key].deadline))
            pipe.meta_get(shard_key, retime)
            pipe.meta_set(shard_key, b"", b"MA")  # a new cas: see above
            pipe.meta_get(shard_key, retime)
        return due

    @staticmethod
    def retime_replies(due: list[bytes], replies: list[object]) -> Iterable[tuple[bytes, object]]:
        """Each shard of ``due`` (``raise_due``) with each of its replies, in order."""
        for i, shard_key in enumerate(due):
            for reply in replies[i * RETIME_COMMANDS : (i + 1) * RETIME_COMMANDS]:
                yield shard_key, reply

    def settled(self, plan: Plan, due: list[bytes], replies: list[object]) -> None:
        """Remember the deadlines ``raise_due`` set: those whose last touch hit (a miss is created by ``settle``,
        with its deadline)."""
        if len(replies) != len(due) * RETIME_COMMANDS:
            raise ValueError(f"{len(replies)} replies for {len(due)} re-timed shards")
        for i, shard_key in enumerate(due):
            if _hit(replies[(i + 1) * RETIME_COMMANDS - 1]):
                self._remember_deadline(shard_key, self._retimed(shard_key, plan[shard_key].deadline))

    def _retimed(self, shard_key: bytes, deadline: float) -> float:
        """The deadline a re-timed shard gets: ``deadline`` plus slack, and never less than ``_horizon`` for a
        shard whose last deadline this store forgot (it may name keys that live until then)."""
        slacked = deadline + max(1.0, (deadline - time.time()) * SLACK)
        return slacked if shard_key in self._deadlines else max(slacked, self._horizon)

    async def settle(self, conn: Connection, plan: Plan, order: list[bytes], replies: Iterable[object]) -> None:
        """Finish appends that found no index item: create it, then append every ancestor again.

        memcached refuses an append (``NS``) both when the item is missing and when the result would pass its item
        size limit. So an append refused right after an add found the item means a full item (under concurrent
        writers, repeats pile up faster than a lone store's compaction removes them): it is compacted at once (cas,
        retried against concurrent appends) and appended again. An item whose live names alone fill it fails the
        write loudly (``ProtocolError``), never silently drops a name. (An append refused for size at the source,
        a payload over the limit, is memcached's SERVER_ERROR, which ``Pipeline.run`` raises as ``ProtocolError``.)
        """
        create = {k: True for k, reply in zip(order, replies, strict=True) if not _hit(reply)}
        found: set[bytes] = set()  # shards that exist, as an add (last round) or a compaction (this one) found
        full: list[bytes] = []  # shards whose append was refused right after they were found
        stuck: dict[bytes, int] = {}  # full shards a compaction found nothing to remove from, and how often
        for _ in range(MAX_ROUNDS):
            if not create:
                break
            if full:
                outcomes = await self._compact(conn, {k: plan[k].directory for k in full})
                for shard_key in full:
                    if outcomes[shard_key] == COMPACT:
                        stuck[shard_key] = stuck.get(shard_key, 0) + 1
                        if stuck[shard_key] > 1:
                            raise ProtocolError(
                                f"directory index item {shard_key.decode(errors='replace')!r} is full: its live "
                                "names exceed memcached's item size limit (use more directories, or a larger -I)"
                            )
                    if outcomes[shard_key] == GONE:
                        create[shard_key] = True  # it vanished meanwhile: create it
                    else:
                        found.add(shard_key)
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
                    self._count(shard_key, len(plan[shard_key].payload()))
                modes.append(is_create)
            replies = await pipe.run(conn)
            # An add that found the item (another writer made it) appends next round, and vice versa.
            # A refused append of an item found just before: it is full, compact it and append again.
            refused = [(k, mode) for k, mode, r in zip(order, modes, replies, strict=True) if not _hit(r)]
            full = [k for k, mode in refused if not mode and k in found]
            found = {k for k, mode in refused if mode}
            create = {k: not mode and k not in full for k, mode in refused}
        if create:
            raise ProtocolError(f"directory index items kept vanishing after {MAX_ROUNDS} attempts (eviction storm?)")

    async def compact_due(self, conn: Connection, plan: Plan) -> None:
        """Rewrite the shards of ``plan`` this store appended a lot to, without repeated or dead entries (cas-safe).

        Each entry is checked once per compaction (a leaf's data item, a sub-directory's index items), and a
        shard is compacted only after as many bytes were appended as it held: amortised O(1) per append."""
        due = [k for k in plan if self._appended.get(k, 0) >= max(COMPACT_MIN, self._compacted_size.get(k, 0))]
        if due:
            await self._compact(conn, {k: plan[k].directory for k in due})

    async def _compact(self, conn: Connection, shards: Mapping[bytes, str]) -> dict[bytes, str]:
        """Rewrite ``shards`` (server key -> directory) without repeated or dead entries, by cas; the outcome of
        each (``REWRITTEN``, ``COMPACT``: nothing to remove, ``GONE``: missing, ``LOST``: concurrent writes won).

        A rewrite that lost to a concurrent append (``EX``) is tried again, up to ``COMPACT_RETRIES`` times: the
        shard is re-read in one pipeline with a re-check of the entries found dead (after the read: a key
        written after it appends after it, and its cas then fails the rewrite), names appended since are kept
        unchecked. So a retry costs one round trip, short enough to win against writers appending all the time
        (a shard nobody could compact grew until memcached refused every append to it)."""
        pipe = Pipeline()
        for shard_key in shards:
            pipe.meta_get(shard_key, b"v c f t")
            self._appended[shard_key] = 0
        outcomes: dict[bytes, str] = {}
        reads: dict[bytes, Meta] = {}
        for shard_key, reply in zip(shards, await pipe.run(conn), strict=True):
            if isinstance(reply, Meta) and reply.value is not None:
                reads[shard_key] = reply
            else:
                outcomes[shard_key] = GONE
        entries = {k: list(dict.fromkeys(decode_entries(reply.value or b""))) for k, reply in reads.items()}
        pipe = Pipeline()
        asked = self._ask_alive(pipe, [(shards[k], entries[k]) for k in reads])
        alive = self._alive_of(asked, await pipe.run(conn))
        kept = {k: [e for e in entries[k] if (e[0], shards[k] + e[1]) in alive] for k in reads}
        for attempt in range(COMPACT_RETRIES + 1):
            rewrite, queued = Pipeline(), []
            for shard_key, reply in reads.items():
                payload = b"".join(encode_entry(kind, name) for kind, name in kept[shard_key])
                self._compacted_size[shard_key] = len(payload)
                cas, flags, ttl = reply.int_flag(b"c") or 0, reply.int_flag(b"f") or 0, reply.int_flag(b"t")
                if not payload:
                    rewrite.meta_delete(shard_key, b"C%d" % cas)
                elif len(payload) < len(reply.value or b""):
                    rewrite.meta_set(shard_key, payload, b"C%d F%d%s" % (cas, flags, _keep_ttl(ttl)))
                else:
                    outcomes[shard_key] = COMPACT
                    continue
                queued.append(shard_key)
            if not queued:
                break
            lost: list[bytes] = []
            for shard_key, reply in zip(queued, await rewrite.run(conn), strict=True):
                if _hit(reply):
                    outcomes[shard_key] = REWRITTEN
                elif isinstance(reply, Meta) and reply.code == b"EX" and attempt < COMPACT_RETRIES:
                    lost.append(shard_key)  # someone appended meanwhile: read it again
                else:
                    outcomes[shard_key] = GONE if isinstance(reply, Meta) and reply.code == b"NF" else LOST
            if not lost:
                break
            # Re-read, and re-check what was dead, in one pipeline (the checks after the read: see above).
            pipe = Pipeline()
            for shard_key in lost:
                pipe.meta_get(shard_key, b"v c f t")
            dead = {k: [e for e in entries[k] if e not in kept[k]] for k in lost}
            asked = self._ask_alive(pipe, [(shards[k], dead[k]) for k in lost])
            replies = await pipe.run(conn)
            alive = self._alive_of(asked, replies[len(lost) :])
            reads = {}
            for shard_key, reply in zip(lost, replies[: len(lost)], strict=True):
                if not isinstance(reply, Meta) or reply.value is None:
                    outcomes[shard_key] = GONE
                    continue
                reads[shard_key] = reply
                directory = shards[shard_key]
                still_dead = {e for e in dead[shard_key] if (e[0], directory + e[1]) not in alive}
                entries[shard_key] = list(dict.fromkeys(decode_entries(reply.value)))
                kept[shard_key] = [e for e in entries[shard_key] if e not in still_dead]
        return outcomes

    def _ask_alive(self, pipe: Pipeline, shards: list[tuple[str, list[Entry]]]) -> Asked:
        """Queue the checks of which ``(kind, directory + name)`` entries still name something: a leaf whose data
        item exists, a sub-directory with at least one index item (``mg`` without flags: no value read)."""
        asked: Asked = []
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
        return asked

    @staticmethod
    def _alive_of(asked: Asked, replies: Iterable[object]) -> set[Entry]:
        """The entries of ``asked`` (``_ask_alive``) that are alive, from the replies to their checks."""
        found = iter(replies)
        alive: set[Entry] = set()
        for entry, count in asked:
            if sum(_hit(next(found)) for _ in range(count)):
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
