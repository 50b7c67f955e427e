"""Pipelined memcached commands over aiomcache's connection pool.

aiomcache's ``Client`` sends one command per awaited call and, when a call is cancelled (a
timeout), puts the connection back in the pool with its reply still unread: its ``acquire``
wrapper only discards a connection on ``Exception``, not ``CancelledError``. So the store uses
aiomcache's ``MemcachePool`` (with a connect timeout added) and writes whole batches itself: a
``Pipeline`` buffers any number of classic (``set``, ``touch``, ``get``...) and meta (``mg``,
``ms``, ``md``) commands, sends them in one write and reads every reply in order. ``lease`` drops
a connection on any interruption, so a late reply can never be read by the next caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiomcache.pool import Connection, MemcachePool

#: Keys per classic ``get`` line: memcached reads long lines, but a bounded one is safe everywhere.
GET_CHUNK = 100

_ERRORS = (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")


class ProtocolError(Exception):
    """memcached answered with an error line or something this client does not understand."""


class ServerErrorReply(ProtocolError):
    """A ``SERVER_ERROR`` line: the server refused one command (too large, out of memory) and stays in sync."""


class TimeoutPool(MemcachePool):
    """aiomcache's pool, but opening a connection gives up after ``connect_timeout`` seconds."""

    def __init__(self, host: str, port: int, *, size: int, connect_timeout: float) -> None:
        super().__init__(host, port, minsize=1, maxsize=size)
        self.connect_timeout = connect_timeout

    async def _create_new_conn(self) -> Connection | None:
        async with asyncio.timeout(self.connect_timeout):
            return await super()._create_new_conn()


@asynccontextmanager
async def lease(pool: MemcachePool) -> AsyncIterator[Connection]:
    """A connection for one pipeline; any exception or cancellation inside closes it instead of reusing it."""
    conn = await pool.acquire()
    try:
        yield conn
    except BaseException:
        conn.reader.set_exception(ConnectionAbortedError("a memcached call was interrupted; connection dropped"))
        raise
    finally:
        pool.release(conn)


@dataclass(frozen=True, slots=True)
class Meta:
    """A meta command's reply: ``code`` (``HD``, ``VA``, ``EN``, ``NS``, ``EX``, ``NF``), flags, value."""

    code: bytes
    flags: dict[bytes, bytes] = field(default_factory=dict)
    value: bytes | None = None

    @property
    def hit(self) -> bool:
        return self.code in (b"HD", b"VA")

    def int_flag(self, name: bytes) -> int | None:
        raw = self.flags.get(name)
        return int(raw) if raw is not None and raw.lstrip(b"-").isdigit() else None


class Pipeline:
    """Commands buffered in order, sent in one write; ``run`` returns one reply per command."""

    def __init__(self, *, isolate: bool = False) -> None:
        self._buffer: list[bytes] = []
        self._readers: list[str] = []
        #: see ``run``
        self.isolate = isolate

    def __len__(self) -> int:
        return len(self._readers)

    def store(self, verb: bytes, key: bytes, value: bytes, exptime: int) -> None:
        """``set``/``replace``/``add``: reply ``STORED`` or ``NOT_STORED``."""
        self._buffer.append(b"%s %s 0 %d %d\r\n%s\r\n" % (verb, key, exptime, len(value), value))
        self._readers.append("line")

    def touch(self, key: bytes, exptime: int) -> None:
        """Reply ``TOUCHED`` or ``NOT_FOUND``."""
        self._buffer.append(b"touch %s %d\r\n" % (key, exptime))
        self._readers.append("line")

    def delete(self, key: bytes) -> None:
        """Reply ``DELETED`` or ``NOT_FOUND``."""
        self._buffer.append(b"delete %s\r\n" % key)
        self._readers.append("line")

    def get(self, keys: Iterable[bytes]) -> None:
        """One classic ``get``; reply a dict of the keys found."""
        self._buffer.append(b"get " + b" ".join(keys) + b"\r\n")
        self._readers.append("values")

    def meta_get(self, key: bytes, flags: bytes = b"") -> None:
        """``mg``: reply ``Meta`` (``EN`` on a miss; ``HD``/``VA`` with the flags asked for)."""
        self._buffer.append(b"mg %s %s\r\n" % (key, flags) if flags else b"mg %s\r\n" % key)
        self._readers.append("meta")

    def meta_set(self, key: bytes, value: bytes, flags: bytes = b"") -> None:
        """``ms`` (append, add, compare-and-swap by flags): reply ``Meta`` ``HD``/``NS``/``EX``/``NF``."""
        self._buffer.append(b"ms %s %d %s\r\n%s\r\n" % (key, len(value), flags, value))
        self._readers.append("meta")

    def meta_delete(self, key: bytes, flags: bytes = b"") -> None:
        """``md`` (``C<cas>`` deletes only an unchanged item): reply ``Meta`` ``HD``/``NF``/``EX``."""
        self._buffer.append(b"md %s %s\r\n" % (key, flags))
        self._readers.append("meta")

    def version(self) -> None:
        """Reply ``VERSION <x.y.z>``."""
        self._buffer.append(b"version\r\n")
        self._readers.append("line")

    def stats(self, group: bytes = b"") -> None:
        """``stats [group]``: reply a dict of ``STAT name value`` lines."""
        self._buffer.append(b"stats %s\r\n" % group if group else b"stats\r\n")
        self._readers.append("stats")

    async def run(self, conn: Connection) -> list[object]:
        """Send every command at once, then read the replies in order.

        With ``isolate`` (set at construction), a ``SERVER_ERROR`` answering one classic or meta command becomes
        that command's reply (a ``ServerErrorReply``) instead of failing the pipeline: the server answers it with
        one line and the replies after it stay in step. Any other error line still raises (the stream may be
        out of step).
        """
        if not self._readers:
            return []
        conn.writer.write(b"".join(self._buffer))
        replies: list[object] = []
        isolate = self.isolate
        for kind in self._readers:
            reply: object
            try:
                if kind == "line":
                    reply = await _line(conn)
                elif kind == "meta":
                    reply = await _meta(conn)
                elif kind == "stats":
                    reply = await _stats(conn)
                else:
                    reply = await _values(conn)
            except ServerErrorReply as exc:
                if not isolate or kind not in ("line", "meta"):
                    raise
                reply = exc  # one line answered this command: the replies after it stay in step
            replies.append(reply)
        await conn.writer.drain()
        return replies


async def _line(conn: Connection) -> bytes:
    raw = await conn.reader.readline()
    if not raw.endswith(b"\r\n"):
        raise ConnectionResetError("memcached closed the connection")
    line = raw[:-2]
    if line.startswith(_ERRORS):
        if line.startswith(b"SERVER_ERROR"):
            raise ServerErrorReply(line.decode(errors="replace"))
        raise ProtocolError(line.decode(errors="replace"))
    return line


async def _meta(conn: Connection) -> Meta:
    line = await _line(conn)
    code, *tokens = line.split()
    if code == b"VA":
        size = int(tokens[0])
        value = (await conn.reader.readexactly(size + 2))[:-2]
        return Meta(code, {t[:1]: t[1:] for t in tokens[1:]}, value)
    if code in (b"HD", b"EN", b"NS", b"EX", b"NF"):
        return Meta(code, {t[:1]: t[1:] for t in tokens})
    raise ProtocolError(f"unexpected meta reply {line!r}")


async def _values(conn: Connection) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    while True:
        line = await _line(conn)
        if line == b"END":
            return found
        terms = line.split()
        if len(terms) < 4 or terms[0] != b"VALUE":
            raise ProtocolError(f"unexpected get reply {line[:80]!r}")
        found[terms[1]] = (await conn.reader.readexactly(int(terms[3]) + 2))[:-2]


async def _stats(conn: Connection) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    while (line := await _line(conn)) != b"END":
        terms = line.split(maxsplit=2)
        if len(terms) < 2 or terms[0] != b"STAT":
            raise ProtocolError(f"unexpected stats reply {line[:80]!r}")
        found[terms[1]] = terms[2] if len(terms) > 2 else b""
    return found


def chunks(keys: list[bytes], size: int = GET_CHUNK) -> Iterable[list[bytes]]:
    """``keys`` in slices of at most ``size``."""
    return (keys[i : i + size] for i in range(0, len(keys), size))
