"""``Pipelining``: a ``RedisStore``'s concurrent commands leave as pipelines, one per connection, per node.

Why: bare ``redis.asyncio`` writes one command per call and waits for its reply, so under
concurrency the Python client, not the server, is the limit (a server answers 10x more than
the client asks). Like ioredis' auto-pipelining and Lettuce, the store queues the commands
its callers issue while a pipeline is out and sends them together as the next one
(``sessionkv.coalesce.Coalescer``): one write, one read loop, one wake-up for many calls.

- One server (and Sentinel's primary): one coalescer, at most ``max_inflight`` pipelines out at
  once, each on a pooled connection of its own.
- A cluster: one coalescer per primary (the node serving the command's routing key's slot),
  each batch a cluster pipeline whose commands all go to that node (redis-py re-routes a
  MOVED/ASK reply after a resharding). A slow node delays only the calls it serves.
- A lone command on an idle coalescer goes at once, in its caller's task, as a pipeline of one:
  the same write and read as a batch (``_exchange``), without a task or a loop tick. That costs
  less than the client's own ``execute_command`` (hiredis packs the command, and none of redis-py's
  per-command bookkeeping runs): in a same-run A/B, a lone ``set`` went from 1.43x to 1.30x a bare
  ``SET``.
- One kept connection: on one server whose pool is redis-py's plain ``ConnectionPool`` (its
  default) with room for more than ``max_inflight`` connections, a finished pipeline keeps its
  connection for the next one, checked as the pool checks those it hands out (``ensure_connection``:
  connected, no stray bytes), instead of going through the pool's lock and bookkeeping twice a call
  (about 7 µs; a lone ``set`` 1.30x to 1.20x). One is enough: calls one after another reuse it, and
  a busy store's batches amortise the pool. A blocking or Sentinel pool, or a cluster node's, sees
  every checkout, so its limit and its checks (``sentinel.py``'s guard) hold. ``release()`` hands the
  kept one back.

What stays per call (the coalescer's rules): a command error (WRONGTYPE, a script error) is the
reply of that command only and fails its caller only; a caller cancelled or timed out is left out
of its pipeline or its reply dropped, and the pipeline carrying its neighbours goes on in a task of
its own. Only a failure of the whole pipeline (the connection lost) fails the calls it carried.
Timeouts: every pipeline's reads are bounded by the client's socket timeout, as a lone command's
are, so a queued call waits for at most the pipelines out before it and its own (about twice the
socket timeout if the server stalls); a caller's own deadline (``asyncio.timeout``) cancels only it.
No timer per call: arming one costs more than a pipelined ``GET``; a pipeline's replies are read under one
(``_exchange``).

Scripts go as ``EVALSHA``; a ``NOSCRIPT`` reply (a restarted or flushed server) loads the script
(``scripts``: sha to source) and resends just those commands.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import Connection, ConnectionPool
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ConnectionError,
    MovedError,
    NoScriptError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from sessionkv.coalesce import Coalescer, Failed

pack_command: Callable[[tuple[Any, ...]], bytes] | None
try:  # redis[hiredis], as the redis extra installs it
    from hiredis import pack_command
except ImportError:  # pragma: no cover - redis-py's own packer then
    pack_command = None

#: A cluster command's result before its node answers.
_UNANSWERED = object()

#: One command: the arguments of ``execute_command``.
Command = tuple[Any, ...]
#: What one caller sends: its commands, all to one node (usually one; an ``mget`` sends one MGET per slot).
Request = tuple[Command, ...]

#: Pipelines out at once per server (or per cluster node) when the pool is unbounded: under load each
#: carries what arrived during the others' round trips; more would only split the same calls finer.
DEFAULT_INFLIGHT = 4


class Pipelining:
    """Coalesced commands on ``client``: ``call(routing_key, *args)`` (see the module docstring)."""

    def __init__(self, client: Redis | RedisCluster, *, max_inflight: int) -> None:
        self.client = client
        self.max_inflight = max_inflight
        #: sha1 of every script source sent as EVALSHA, to load it after a NOSCRIPT reply
        self.scripts: dict[str, str] = {}
        self._cluster = client if isinstance(client, RedisCluster) else None
        self._single: Coalescer[Request, list[Any]] | None = None
        self._nodes: dict[str, Coalescer[Request, list[Any]]] = {}
        #: the connection kept between pipelines (module docstring), and whether this pool allows keeping one
        self._kept: Connection | None = None
        self._keeping = False
        if not isinstance(client, RedisCluster):
            self._single = self._coalescer("")
            pool = client.connection_pool
            self._keeping = type(pool) is ConnectionPool and pool.max_connections > max_inflight

    def _coalescer(self, node: str) -> Coalescer[Request, list[Any]]:
        async def send(batch: list[Request]) -> Sequence[list[Any] | Failed]:
            return await self._send(batch, node)

        return Coalescer(send, max_inflight=self.max_inflight)

    @property
    def coalescers(self) -> list[Coalescer[Request, list[Any]]]:
        """Every coalescer in use (one, or one per cluster node served so far)."""
        return [self._single] if self._single is not None else list(self._nodes.values())

    @property
    def batches(self) -> int:
        """Pipelines (and lone commands) sent so far."""
        return sum(coalescer.batches for coalescer in self.coalescers)

    @property
    def requests(self) -> int:
        """Commands they carried."""
        return sum(coalescer.requests for coalescer in self.coalescers)

    def node_of(self, routing_key: str) -> str:
        """The name of the node serving ``routing_key`` ("" on one server)."""
        if self._cluster is None:
            return ""
        return str(self._cluster.nodes_manager.get_node_from_slot(self._cluster.keyslot(routing_key)).name)

    def _for(self, routing_key: str) -> Coalescer[Request, list[Any]]:
        if self._single is not None:
            return self._single
        node = self.node_of(routing_key)
        coalescer = self._nodes.get(node)
        if coalescer is None:
            coalescer = self._nodes[node] = self._coalescer(node)
        return coalescer

    async def call(self, routing_key: str, *args: Any) -> Any:
        """Send ``args`` (one command; ``routing_key`` is a key it touches) and return its reply.

        Raises the command's own error (a ``ResponseError``) or the failure of its pipeline (a redis
        ``TimeoutError`` when the socket timeout passes without a reply).
        """
        return (await self.call_many(routing_key, (args,)))[0]

    async def call_many(self, routing_key: str, commands: Request) -> list[Any]:
        """Send ``commands`` (all served by ``routing_key``'s node) in the same pipeline; their replies.

        The first command error among them is raised (they are one caller's call).
        """
        return await self._for(routing_key).submit(commands)

    async def _send(self, batch: list[Request], node: str) -> Sequence[list[Any] | Failed]:
        commands = [args for request in batch for args in request]
        replies = await self._pipeline(commands, node)
        unloaded = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if unloaded:
            for args in {commands[i][1]: commands[i] for i in unloaded}.values():  # each script once
                await self._load(args)
            for i, reply in zip(unloaded, await self._pipeline([commands[i] for i in unloaded], node), strict=True):
                replies[i] = reply
        outcomes: list[list[Any] | Failed] = []
        start = 0
        for request in batch:
            if len(request) == 1:  # the common case: one command, one reply
                reply = replies[start]
                start += 1
                outcomes.append(Failed(reply) if isinstance(reply, Exception) else [reply])
                continue
            mine = replies[start : start + len(request)]
            start += len(request)
            error = next((reply for reply in mine if isinstance(reply, Exception)), None)
            outcomes.append(mine if error is None else Failed(error))
        return outcomes

    async def _pipeline(self, batch: list[Command], node: str) -> list[Any]:
        """One pipeline of ``batch`` to ``node`` (replies in order; a command's error is its reply, not raised)."""
        if self._cluster is not None:
            return await self._node_pipeline(batch, node)
        client = self.client
        assert isinstance(client, Redis)
        connection = await self._checkout(client.connection_pool)
        try:
            # retried as redis-py retries its own pipelines: a lost connection is dropped and the batch resent
            replies: list[Any] = await connection.retry.call_with_retry(
                lambda: _exchange(connection, batch, client.response_callbacks),
                lambda _error: connection.disconnect(),
            )
            return replies
        finally:
            await self._checkin(client.connection_pool, connection)

    async def _checkout(self, pool: ConnectionPool) -> Connection:
        """The kept connection, checked as the pool checks the ones it hands out; else one from the pool."""
        connection, self._kept = self._kept, None
        if connection is None:
            pooled: Connection = await pool.get_connection()  # type: ignore[no-untyped-call]
            return pooled
        try:
            await pool.ensure_connection(connection)
        except BaseException:
            await pool.release(connection)
            raise
        return connection

    async def _checkin(self, pool: ConnectionPool, connection: Connection) -> None:
        """Keep ``connection`` for the next pipeline if this pool allows it and none is kept; else release it."""
        if self._keeping and self._kept is None:
            self._kept = connection  # no await: a cancelled caller cannot lose it
        else:
            await pool.release(connection)

    async def release(self) -> None:
        """Stop keeping a connection and hand the kept one back to its pool (the store does so as it closes)."""
        self._keeping = False
        kept, self._kept = self._kept, None
        if kept is not None:  # only one server's pool keeps one
            assert isinstance(self.client, Redis)
            await self.client.connection_pool.release(kept)

    async def _node_pipeline(self, batch: list[Command], name: str) -> list[Any]:
        """A cluster batch (all its commands served by one node): written straight to that node's connection.

        redis-py's cluster pipeline resolves every command's routing again (a large share of a small
        command's cost); these are routed already, and their replies are read as on one server (``_exchange``).
        Commands answered with a redirect (MOVED, ASK, TRYAGAIN: the slot moved), and the whole batch if the
        connection failed, go again through a cluster pipeline, which refreshes the topology, follows
        redirects and retries as redis-py does.
        """
        assert self._cluster is not None
        node = self._cluster.get_node(node_name=name)
        replies: list[Any] = [_UNANSWERED] * len(batch)
        if node is not None:
            try:
                connection = node.acquire_connection()  # a full pool raises MaxConnectionsError, a ConnectionError
                try:
                    replies = await _exchange(connection, batch, node.response_callbacks)
                finally:
                    node.release(connection)
            except (ConnectionError, RedisTimeoutError, OSError):
                pass  # the batch is sent again below
        again = [i for i, reply in enumerate(replies) if _unsettled(reply)]
        if again:
            pipe = self._cluster.pipeline()
            for i in again:
                pipe.execute_command(*batch[i])
            for i, reply in zip(again, await pipe.execute(raise_on_error=False), strict=True):
                replies[i] = reply
        return replies

    async def _load(self, args: Command) -> None:
        """Load the script an ``EVALSHA`` named (every primary of a cluster)."""
        source = self.scripts.get(str(args[1])) if args and args[0] == "EVALSHA" else None
        if source is None:
            raise NoScriptError(f"NOSCRIPT for a script this store did not send: {args[1]!r}")
        await self.client.script_load(source)

    async def drain(self) -> None:
        """Wait for every queued and sent pipeline (the store drains before closing its client)."""
        for coalescer in self.coalescers:
            await coalescer.drain()


async def _exchange(connection: Connection, batch: list[Command], callbacks: Mapping[Any, Any]) -> list[Any]:
    """Write ``batch`` in one packet and read its replies under ONE timer: the connection's socket timeout.

    redis-py's ``Pipeline.execute`` arms a timer per reply (and more bookkeeping per command); at 64 concurrent
    callers on one server, reading this way took ``get`` from about 51,000 to 85,000 calls/s in one process. A
    command's error reply is its result; anything else (a timeout, a lost connection, a cancellation) leaves
    replies unread on the socket, so the connection is dropped, as redis-py's pipeline drops it.
    """
    try:
        await connection.send_packed_command(_packed(connection, batch), check_health=False)
        replies: list[Any] = []
        try:
            async with asyncio.timeout(connection.socket_timeout):
                for args in batch:
                    try:
                        reply = await connection.read_response(timeout=math.inf)  # the block's timer bounds it
                    except ResponseError as error:
                        replies.append(error)
                        continue
                    callback = callbacks.get(args[0])
                    replies.append(reply if callback is None else callback(reply))
        except TimeoutError as exc:  # asyncio's (redis-py's TimeoutError is another class): as a lone read raises it
            raise RedisTimeoutError(f"Timeout reading the replies of a pipeline of {len(batch)} commands") from exc
        return replies
    except BaseException:
        await connection.disconnect(nowait=True)
        raise


def _packed(connection: Connection, batch: list[Command]) -> list[bytes]:
    """``batch`` in the Redis protocol: hiredis' C packer when the client encodes text as UTF-8 (its rule),
    redis-py's per-argument Python packer otherwise (A/B at 64 tasks: ``get`` 1.21x faster with hiredis')."""
    encoder = connection.encoder
    if (
        pack_command is None
        or encoder.encoding.replace("-", "").lower() != "utf8"
        or encoder.encoding_errors != "strict"
    ):
        return connection.pack_commands(batch)
    return [b"".join([pack_command(args) for args in batch])]


def _unsettled(result: Any) -> bool:
    """A cluster command to send again: redirected (its slot moved), or not answered by its node."""
    if result is _UNANSWERED or isinstance(result, (MovedError, AskError, TryAgainError, ClusterDownError)):
        return True
    return isinstance(result, BaseException) and not isinstance(result, ResponseError)
