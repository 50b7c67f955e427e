"""PostgreSQL store URLs and options: ``postgresql://[user[:password]@]host[:port][,host[:port]...]/dbname?...``.

Turns a ``StoreURL`` plus keyword overrides into a ``PostgresConfig`` (typed, checked). The password is
kept out of every repr and error: asyncpg gets it as its own argument, never inside the DSN it may quote.
The libpq-style TLS options (``sslmode``, ``sslrootcert``, ``sslcert``, ``sslkey``) go to asyncpg in the DSN,
which applies them as libpq does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from sessionkv import ConfigurationError, Option, StoreURL, resolve_options
from sessionkv.options import NAMESPACE_OPTION

SCHEMES = ("postgresql", "postgres")
DEFAULT_PORT = 5432
#: An unquoted SQL identifier of at most 63 bytes (PostgreSQL's NAMEDATALEN - 1); names are quoted anyway.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
#: libpq's sslmode values, weakest first.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
#: Options that name a file asyncpg reads (checked here, so a typo is one clear line before any connect).
SSL_FILES = ("sslrootcert", "sslcert", "sslkey")


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError("expected a letter or '_' then letters, digits or '_' (at most 63)")
    return value


def _sslmode(value: str) -> str:
    if value not in SSL_MODES:
        raise ValueError(f"expected one of {', '.join(SSL_MODES)}")
    return value


def _non_negative(value: int) -> int:
    if value < 0:
        raise ValueError("expected a whole number >= 0")
    return value


def _rule(name: str, check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An ``Option.validate`` applying ``check`` to the typed value (URL text or keyword), one-line error."""

    def validate(value: Any) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise ConfigurationError(f"option {name}={value!r}: {exc}") from None

    return validate


OPTIONS: dict[str, Option] = {
    "namespace": NAMESPACE_OPTION,
    "table": Option(
        str,
        "sessionkv",
        "table holding the keys (python -m sessionkv_postgres.schema prints it)",
        validate=_rule("table", _identifier),
    ),
    "schema": Option(str, "public", "schema of the table", validate=_rule("schema", _identifier)),
    "create_table": Option(bool, False, "create the table, its sequence and index when missing (needs CREATE)"),
    "unlogged": Option(bool, False, "with create_table: an UNLOGGED table (faster writes, emptied after a crash)"),
    "pool_min_size": Option(
        int, 1, "connections the pool opens at start and keeps", validate=_rule("pool_min_size", _non_negative)
    ),
    "pool_max_size": Option(
        int, 10, "most connections the pool opens (concurrent calls wait beyond it)", positive=True
    ),
    "command_timeout": Option(float, 5.0, "seconds one statement may take before StoreError", positive=True),
    "connect_timeout": Option(float, 5.0, "seconds to open one connection (TLS and login included)", positive=True),
    "statement_cache_size": Option(
        int,
        100,
        "prepared statements cached per connection (0 behind PgBouncer in transaction mode)",
        validate=_rule("statement_cache_size", _non_negative),
    ),
    "sweep_interval": Option(float, 30.0, "seconds between background deletions of expired rows", positive=True),
    "sweep_batch": Option(int, 1000, "expired rows one sweep statement deletes", positive=True),
    "sslmode": Option(
        str,
        None,
        "libpq sslmode: disable, allow, prefer (asyncpg's default), require, verify-ca, verify-full",
        validate=_rule("sslmode", _sslmode),
    ),
    "sslrootcert": Option(str, None, "CA bundle that signs the server certificate (verify-ca, verify-full)"),
    "sslcert": Option(str, None, "client certificate file (with sslkey)"),
    "sslkey": Option(str, None, "client private key file (with sslcert)"),
}


@dataclass(frozen=True)
class PostgresConfig:
    """Everything needed to reach the table; ``url`` is the parsed URL (its str hides the password)."""

    url: StoreURL
    namespace: str
    dsn: str
    table: str
    schema: str
    create_table: bool
    unlogged: bool
    pool_min_size: int
    pool_max_size: int
    command_timeout: float
    connect_timeout: float
    statement_cache_size: int
    sweep_interval: float
    sweep_batch: int
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: StoreURL, overrides: dict[str, Any]) -> PostgresConfig:
        """Check ``url`` and options; raise ``ConfigurationError`` (password never shown) when bad."""
        if url.scheme not in SCHEMES:
            raise ConfigurationError(f"the postgres backend serves postgresql:// and postgres://, not {url.scheme}://")
        opts = resolve_options(OPTIONS, url.query, overrides, scheme=url.scheme)
        database = url.path[1:] if url.path.startswith("/") else url.path
        if not database or "/" in database:
            raise ConfigurationError(f"expected postgresql://[user[:password]@]host[:port]/DBNAME[?...], got {url}")
        if not url.hosts:
            raise ConfigurationError(f"a postgresql:// URL needs a host (host[:port]), got {url}")
        if opts["pool_min_size"] > opts["pool_max_size"]:
            raise ConfigurationError(
                f"pool_min_size ({opts['pool_min_size']}) is over pool_max_size ({opts['pool_max_size']})"
            )
        if (opts["sslcert"] is None) != (opts["sslkey"] is None):
            raise ConfigurationError(f"sslcert and sslkey go together (client certificate and key), {url}")
        for name in SSL_FILES:
            if opts[name] is not None and not os.path.isfile(opts[name]):
                raise ConfigurationError(f"option {name}: no such file {opts[name]!r}")
        if opts["sslmode"] == "disable" and any(opts[name] for name in SSL_FILES):
            raise ConfigurationError(f"sslmode=disable with TLS files: choose one, {url}")
        return cls(
            url=url,
            namespace=opts["namespace"],
            dsn=_dsn(url, database, opts),
            table=opts["table"],
            schema=opts["schema"],
            create_table=opts["create_table"],
            unlogged=opts["unlogged"],
            pool_min_size=opts["pool_min_size"],
            pool_max_size=opts["pool_max_size"],
            command_timeout=opts["command_timeout"],
            connect_timeout=opts["connect_timeout"],
            statement_cache_size=opts["statement_cache_size"],
            sweep_interval=opts["sweep_interval"],
            sweep_batch=opts["sweep_batch"],
            password=url.password,
        )

    def pool_options(self) -> dict[str, Any]:
        """``asyncpg.create_pool``'s arguments after the DSN: password, sizes, timeouts, statement cache."""
        return {
            "password": self.password,
            "min_size": self.pool_min_size,
            "max_size": self.pool_max_size,
            "command_timeout": self.command_timeout,
            "timeout": self.connect_timeout,
            "statement_cache_size": self.statement_cache_size,
        }

    @property
    def qualified_table(self) -> str:
        """``"schema"."table"`` for SQL (both names are checked identifiers, quoted)."""
        return f'"{self.schema}"."{self.table}"'

    def describe(self) -> str:
        """``postgresql://user@host:port/db`` plus the table, for messages (no password, no options)."""
        hosts = ",".join(str(h) for h in self.url.hosts)
        user = f"{self.url.username}@" if self.url.username else ""
        return f"{self.url.scheme}://{user}{hosts}{self.url.path} table {self.schema}.{self.table}"


def _dsn(url: StoreURL, database: str, opts: dict[str, Any]) -> str:
    """The DSN asyncpg parses: user, hosts, database and the libpq TLS options; never the password."""
    user = quote(url.username, safe="") + "@" if url.username else ""
    hosts = ",".join(f"{_host(h.host)}:{h.port or DEFAULT_PORT}" for h in url.hosts)
    tls = {name: opts[name] for name in ("sslmode", *SSL_FILES) if opts[name] is not None}
    query = f"?{urlencode(tls)}" if tls else ""
    return f"postgresql://{user}{hosts}/{quote(database, safe='')}{query}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else quote(host, safe="")
