"""``redis+sentinel://``: the primary that Redis Sentinel names, followed across failovers.

URL: ``redis+sentinel://[[user]:password@]host:port[,host:port...]/SERVICE[/DB]``; the hosts are the
sentinels (default port 26379), SERVICE the name they monitor the primary under, the password the
data nodes'. The sentinels' own credentials are the ``sentinel_username``/``sentinel_password``
options; ``ssl=true`` talks TLS to the sentinels and the data nodes alike.

Built on redis-py's asyncio ``Sentinel``/``SentinelConnectionPool``, which asks the sentinels for the
primary only when a connection (re)connects. A connection whose server stays up while it is demoted
(a manual ``SENTINEL FAILOVER``, or an old primary back as a replica) is never re-checked there: the
async pool does not drop connections to an address that is no longer the primary (its ``release``
never calls ``owns_connection``), so reads keep going to the replica and only writes notice (READONLY,
which redis-py turns into a reconnect). ``GuardedSentinelPool`` closes that gap: it re-asks the
sentinels at most every ``sentinel_check_interval`` seconds (one caller pays one sentinel round trip),
and drops any connection, idle or handed back, that points at an address other than the primary's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, TimeoutError

from sessionkv import ConfigurationError, Option, StoreURL

SCHEME = "redis+sentinel"
DEFAULT_SENTINEL_PORT = 26379

SENTINEL_OPTIONS: dict[str, Option] = {
    "sentinel_password": Option(str, None, "password of the sentinels (the URL's password is the data nodes')"),
    "sentinel_username": Option(str, None, "ACL user of the sentinels"),
    "sentinel_check_interval": Option(
        float,
        1.0,
        "seconds between re-asking the sentinels which node is primary while connections stay open "
        "(bounds how long reads may go to a demoted primary that is still up)",
        positive=True,
    ),
}


@dataclass(frozen=True)
class SentinelSettings:
    """Where the primary is found: the monitored ``service`` and how to talk to the sentinels."""

    service: str
    check_interval: float
    sentinel_kwargs: dict[str, Any] = field(repr=False)


def sentinel_kwargs(opts: dict[str, Any], tls: dict[str, Any]) -> dict[str, Any]:
    """Connection arguments for the sentinels: their credentials, the timeouts, TLS when ``ssl`` is on.

    No retries per sentinel: discovery already moves on to the next sentinel, and the data connection's
    retries repeat the whole discovery. (redis-py's default would retry a refused password with
    backoff up to 10 s, per sentinel: a minute before a wrong ``sentinel_password`` is reported.)
    """
    kwargs: dict[str, Any] = {
        "retry": Retry(NoBackoff(), 0),
        "username": opts["sentinel_username"],
        "password": opts["sentinel_password"],
        "socket_timeout": opts["socket_timeout"],
        "socket_connect_timeout": opts["socket_connect_timeout"],
        "decode_responses": False,
    }
    if opts["ssl"]:
        kwargs.update(ssl=True, **tls)
    return kwargs


def parse_service(url: StoreURL, db_option: int | None) -> tuple[str, int]:
    """The monitored service's name and the database from ``/SERVICE[/DB]``; ``ConfigurationError`` if bad."""
    parts = url.path.strip("/").split("/") if url.path.strip("/") else []
    if not parts or not parts[0] or len(parts) > 2:
        raise ConfigurationError(
            f"redis+sentinel:// needs the monitored service as its path (/SERVICE[/DB]), got {url}"
        )
    if not url.hosts:
        raise ConfigurationError(f"redis+sentinel:// needs at least one sentinel host:port, got {url}")
    if len(parts) == 1:
        return parts[0], db_option or 0
    if not parts[1].isdigit():
        raise ConfigurationError(f"the database of redis+sentinel:// (/SERVICE/DB) must be a number, got {url}")
    if db_option is not None and db_option != int(parts[1]):
        raise ConfigurationError(f"database given twice (path /{parts[1]} and db={db_option}) in {url}")
    return parts[0], int(parts[1])


def sentinel_addresses(url: StoreURL) -> list[tuple[str, int]]:
    """The sentinels of ``url`` as ``(host, port)``, port 26379 when absent."""
    return [(h.host, h.port or DEFAULT_SENTINEL_PORT) for h in url.hosts]


class SentinelManager(Sentinel):
    """redis-py's ``Sentinel`` with a one-line ``MasterNotFoundError`` (redis-py's repeats client reprs)."""

    async def discover_master(self, service_name: str) -> tuple[str, int]:
        problems: list[str] = []
        for position, sentinel in enumerate(self.sentinels):
            kwargs = sentinel.connection_pool.connection_kwargs
            where = f"{kwargs.get('host')}:{kwargs.get('port')}"
            try:
                masters: Any = await sentinel.sentinel_masters()
            except (ConnectionError, TimeoutError, OSError) as exc:
                problems.append(f"{where}: {type(exc).__name__}: {exc}")
                continue
            state = masters.get(service_name)
            if state and self.check_master_state(state, service_name):
                self.sentinels[0], self.sentinels[position] = sentinel, self.sentinels[0]  # ask it first next time
                return state["ip"], state["port"]
            problems.append(f"{where}: {'primary down' if state else 'does not monitor it'}")
        raise MasterNotFoundError(f"no sentinel names a primary for {service_name!r} ({'; '.join(problems)})")


class GuardedSentinelPool(SentinelConnectionPool):
    """A primary's pool that re-checks the sentinels on a timer and drops connections to a former primary.

    ``rediscoveries`` counts the sentinel queries the timer made and ``dropped`` the connections closed
    because they pointed elsewhere than the primary (tests read them; counting, not timing).
    """

    def __init__(self, service_name: str, sentinel_manager: Sentinel, *, check_interval: float, **kwargs: Any):
        super().__init__(service_name, sentinel_manager, **kwargs)  # type: ignore[no-untyped-call]
        self.check_interval = check_interval
        self._checked_at = -math.inf
        self.rediscoveries = 0
        self.dropped = 0

    def _points_elsewhere(self, connection: AbstractConnection) -> bool:
        address = self.master_address
        return address is not None and connection.is_connected and (connection.host, connection.port) != address  # type: ignore[attr-defined]

    async def _recheck(self) -> None:
        """Ask the sentinels for the primary if the last answer is older than ``check_interval``.

        The first caller past the interval asks; the others go on meanwhile. No answer (every
        sentinel down) keeps the connections as they are: the primary may well be fine.
        """
        now = time.monotonic()
        if now - self._checked_at < self.check_interval:
            return
        self._checked_at = now
        self.rediscoveries += 1
        try:
            await self.get_master_address()  # type: ignore[no-untyped-call]  # on a change: idle connections are closed by redis-py
        except (ConnectionError, TimeoutError, OSError):
            pass

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> AbstractConnection:
        await self._recheck()
        connection: AbstractConnection = await super().get_connection()  # type: ignore[no-untyped-call]
        if self._points_elsewhere(connection):
            self.dropped += 1
            try:
                await connection.disconnect()
                await self.ensure_connection(connection)  # reconnects to the address the sentinels give
            except BaseException:
                await self.release(connection)
                raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        if self._points_elsewhere(connection):
            self.dropped += 1
            await connection.disconnect()
        await super().release(connection)


class BlockingGuardedSentinelPool(GuardedSentinelPool, BlockingConnectionPool):
    """``GuardedSentinelPool`` that waits (up to ``timeout``) for a free connection when ``max_connections`` are out."""


class SentinelRedis(Redis):
    """The primary's client; closing it also closes its connections to the sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        pool = self.connection_pool
        try:
            await super().aclose(close_connection_pool)
        finally:
            manager = getattr(pool, "sentinel_manager", None)
            if isinstance(manager, Sentinel):
                await manager.aclose()


def build_sentinel_client(
    url: StoreURL, settings: SentinelSettings, connection: dict[str, Any], max_connections: int | None
) -> SentinelRedis:
    """A client of the service's primary, found through the sentinels of ``url`` (the caller closes it)."""
    manager = SentinelManager(sentinel_addresses(url), sentinel_kwargs=dict(settings.sentinel_kwargs))  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2
    kwargs = dict(connection)
    pool_class: type[GuardedSentinelPool] = GuardedSentinelPool
    if max_connections is not None:
        pool_class = BlockingGuardedSentinelPool
        kwargs["max_connections"] = max_connections
        kwargs["timeout"] = kwargs["socket_timeout"]
    client = manager.master_for(
        settings.service,
        redis_class=SentinelRedis,
        connection_pool_class=pool_class,
        check_interval=settings.check_interval,
        **kwargs,
    )
    assert isinstance(client, SentinelRedis)
    return client
