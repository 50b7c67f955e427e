"""Redis store URLs and options: ``redis://``, ``rediss://``, ``unix://``, ``redis+cluster://``, ``redis+sentinel://``.

Turns a ``StoreURL`` plus keyword overrides into a ``RedisConfig`` (typed, checked, password kept
out of every repr and error) and builds the redis-py asyncio client from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from sessionkv import NAMESPACE_OPTION, ConfigurationError, Option, StoreURL, resolve_options

from .index import INDEX_TYPES, SORTED_SET
from .sentinel import SENTINEL_OPTIONS, SentinelSettings, build_sentinel_client, parse_service, sentinel_kwargs

SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "redis+sentinel")
DEFAULT_PORT = 6379
CERT_REQS = ("none", "optional", "required")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("expected a whole number >= 0")
    return value


def _index_type(text: str) -> str:
    if text.lower() not in INDEX_TYPES:
        raise ValueError(f"expected one of {', '.join(INDEX_TYPES)}")
    return text.lower()


def _cert_reqs(text: str) -> str:
    if text.lower() not in CERT_REQS:
        raise ValueError(f"expected one of {', '.join(CERT_REQS)}")
    return text.lower()


COMMON_OPTIONS: dict[str, Option] = {
    "namespace": NAMESPACE_OPTION,
    "socket_timeout": Option(float, 5.0, "seconds to wait for a reply before StoreError", positive=True),
    "socket_connect_timeout": Option(float, 5.0, "seconds to wait for a connection", positive=True),
    "max_connections": Option(
        int, None, "connection pool size (per node in a cluster); default unbounded (redis-py's)", positive=True
    ),
    "client_name": Option(str, None, "CLIENT SETNAME sent on every connection"),
    "retries": Option(
        int, 3, "retries (exponential backoff) after a connection error or timeout", parse=_non_negative_int
    ),
    "directory_index": Option(
        bool,
        True,
        "keep a sorted-set index per directory, so keys('dir/') costs its entries, not a SCAN "
        "(on a cluster: directories holding a {hash tag})",
    ),
    "index_type": Option(
        str,
        SORTED_SET,
        "how the directory index is kept: sorted_set (any server; writes prune expired entries) or hash "
        "(a field per key that the server expires with it: cheaper writes; Redis 7.4+ or Valkey 9+; every "
        "store sharing a namespace must use the same)",
        parse=_index_type,
    ),
}
DB_OPTIONS: dict[str, Option] = {
    "db": Option(int, None, "database number (redis:// also takes it as the path, /N)", parse=_non_negative_int),
}
TLS_OPTIONS: dict[str, Option] = {
    "ssl_ca_certs": Option(str, None, "CA bundle file that signs the server certificate"),
    "ssl_certfile": Option(str, None, "client certificate file (mutual TLS)"),
    "ssl_keyfile": Option(str, None, "client private key file (mutual TLS)"),
    "ssl_cert_reqs": Option(str, "required", "server certificate check: none, optional or required", parse=_cert_reqs),
    "ssl_check_hostname": Option(bool, True, "check the server certificate matches the host name"),
}
CLUSTER_OPTIONS: dict[str, Option] = {
    "ssl": Option(bool, False, "talk TLS to the cluster nodes (redis+sentinel://: to the sentinels and the data nodes)")
}

#: Every option of every scheme (what ``RedisStore.options`` lists).
ALL_OPTIONS: dict[str, Option] = {**COMMON_OPTIONS, **DB_OPTIONS, **TLS_OPTIONS, **CLUSTER_OPTIONS, **SENTINEL_OPTIONS}
SCHEME_OPTIONS: dict[str, dict[str, Option]] = {
    "redis": {**COMMON_OPTIONS, **DB_OPTIONS},
    "rediss": {**COMMON_OPTIONS, **DB_OPTIONS, **TLS_OPTIONS},
    "unix": {**COMMON_OPTIONS, **DB_OPTIONS},
    "redis+cluster": {**COMMON_OPTIONS, **TLS_OPTIONS, **CLUSTER_OPTIONS},
    "redis+sentinel": {**COMMON_OPTIONS, **DB_OPTIONS, **TLS_OPTIONS, **CLUSTER_OPTIONS, **SENTINEL_OPTIONS},
}


@dataclass(frozen=True)
class RedisConfig:
    """Everything needed to build the client; ``url`` is the parsed URL (its str hides the password)."""

    url: StoreURL
    namespace: str
    cluster: bool
    connection: dict[str, Any] = field(repr=False)
    max_connections: int | None = None
    socket_path: str | None = None
    directory_index: bool = False
    sentinel: SentinelSettings | None = None
    index_type: str = SORTED_SET

    @classmethod
    def from_url(cls, url: StoreURL, overrides: dict[str, Any]) -> RedisConfig:
        """Check ``url`` and options; raise ``ConfigurationError`` (password never shown) when bad."""
        scheme = url.scheme
        if scheme not in SCHEME_OPTIONS:
            raise ConfigurationError(f"the redis backend serves {', '.join(SCHEMES)}, not {scheme}://")
        spec = SCHEME_OPTIONS[scheme]
        misplaced = sorted(name for name in {*url.query, *overrides} if name in ALL_OPTIONS and name not in spec)
        if misplaced:
            where = {name: [s for s, opts in SCHEME_OPTIONS.items() if name in opts] for name in misplaced}
            hints = "; ".join(f"{n} applies only to {', '.join(s + '://' for s in where[n])}" for n in misplaced)
            raise ConfigurationError(f"option(s) not valid for {scheme}:// in {url}: {hints}")
        # sentinel_password is shown as *** wherever the URL is printed (``StoreURL`` hides any *password option)
        opts = resolve_options(spec, url.query, overrides, scheme=scheme)
        if "ssl_cert_reqs" in overrides:
            opts["ssl_cert_reqs"] = TLS_OPTIONS["ssl_cert_reqs"].from_text("ssl_cert_reqs", opts["ssl_cert_reqs"])
        cluster = scheme == "redis+cluster"
        connection = _connection_kwargs(url, opts)
        socket_path = None
        sentinel = None
        if scheme == "unix":
            if url.hosts:
                raise ConfigurationError(f"unix:// takes a socket path and no host: unix:///path/redis.sock, got {url}")
            if url.path in ("", "/"):
                raise ConfigurationError(f"unix:// needs a socket path: unix:///path/redis.sock, got {url}")
            socket_path = url.path
            connection["db"] = opts["db"] or 0
        elif scheme == "redis+sentinel":
            if not opts["ssl"] and any(opts[name] != TLS_OPTIONS[name].default for name in TLS_OPTIONS):
                raise ConfigurationError(f"TLS options need ssl=true on redis+sentinel://, got {url}")
            service, connection["db"] = parse_service(url, opts["db"])
            tls = {name: opts[name] for name in TLS_OPTIONS}
            sentinel = SentinelSettings(service, opts["sentinel_check_interval"], sentinel_kwargs(opts, tls))
        elif cluster:
            if url.path not in ("", "/", "/0"):
                raise ConfigurationError(f"redis+cluster:// has only database 0 and takes no path, got {url}")
            if not opts["ssl"] and any(opts[name] != TLS_OPTIONS[name].default for name in TLS_OPTIONS):
                raise ConfigurationError(f"TLS options need ssl=true on redis+cluster://, got {url}")
        else:
            if len(url.hosts) > 1:
                raise ConfigurationError(f"{scheme}:// takes one host; use redis+cluster:// for several: {url}")
            connection["db"] = _database(url, opts["db"])
        indexed = bool(opts["directory_index"])
        index_type = COMMON_OPTIONS["index_type"].from_text("index_type", str(opts["index_type"]))
        if not indexed and index_type != SORTED_SET:
            raise ConfigurationError(f"index_type={index_type} needs directory_index=true, got {url}")
        return cls(
            url,
            opts["namespace"],
            cluster,
            connection,
            opts["max_connections"],
            socket_path,
            indexed,
            sentinel,
            index_type,
        )

    def build_client(self) -> Redis | RedisCluster:
        """A new redis-py asyncio client for this configuration (the caller owns and closes it)."""
        kwargs = dict(self.connection)
        if self.sentinel is not None:
            return build_sentinel_client(self.url, self.sentinel, kwargs, self.max_connections)
        if self.cluster:
            nodes = [ClusterNode(h.host, h.port or DEFAULT_PORT) for h in self.url.hosts] or [
                ClusterNode("127.0.0.1", DEFAULT_PORT)
            ]
            if self.max_connections is not None:
                kwargs["max_connections"] = self.max_connections
            return RedisCluster(startup_nodes=nodes, **kwargs)
        ssl = self.url.scheme == "rediss"
        if self.socket_path is not None:
            kwargs["path"] = self.socket_path
            connection_class: type[Connection] | type[UnixDomainSocketConnection] = UnixDomainSocketConnection
        else:
            host = self.url.host
            kwargs["host"] = host.host if host else "localhost"
            kwargs["port"] = host.port if host and host.port else DEFAULT_PORT
            connection_class = SSLConnection if ssl else Connection
        pool: ConnectionPool
        if self.max_connections is not None:
            # Wait (up to socket_timeout) for a free connection instead of failing when the pool is full.
            pool = BlockingConnectionPool(
                connection_class=connection_class,
                max_connections=self.max_connections,
                timeout=kwargs["socket_timeout"],
                **kwargs,
            )
        else:
            pool = ConnectionPool(connection_class=connection_class, **kwargs)
        return Redis.from_pool(pool)


def _connection_kwargs(url: StoreURL, opts: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "username": url.username,
        "password": url.password,
        "socket_timeout": opts["socket_timeout"],
        "socket_connect_timeout": opts["socket_connect_timeout"],
        "client_name": opts["client_name"],
        "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), opts["retries"]),
        "decode_responses": False,
    }
    if url.scheme == "rediss" or opts.get("ssl"):
        if url.scheme in ("redis+cluster", "redis+sentinel"):
            kwargs["ssl"] = True
        kwargs.update({name: opts[name] for name in TLS_OPTIONS})
    return kwargs


def _database(url: StoreURL, db_option: int | None) -> int:
    path = url.path.strip("/")
    if not path:
        return db_option or 0
    if not path.isdigit():
        raise ConfigurationError(f"the path of {url.scheme}:// is the database number (/0, /1...), got {url}")
    if db_option is not None and db_option != int(path):
        raise ConfigurationError(f"database given twice (path /{path} and db={db_option}) in {url}")
    return int(path)
