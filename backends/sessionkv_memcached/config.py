"""memcached store URLs and options: ``memcached://host[:port][?namespace=...&pool_size=...&timeout=...]``.

Turns a ``StoreURL`` plus keyword overrides into a checked ``MemcachedConfig``. One server only:
this backend does not spread keys over several servers, and says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sessionkv import ConfigurationError, Option, StoreURL, resolve_options
from sessionkv.options import NAMESPACE_OPTION

SCHEME = "memcached"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 11211

OPTIONS: dict[str, Option] = {
    "namespace": NAMESPACE_OPTION,
    "pool_size": Option(int, 4, "connections to the server at most (each call uses one)", positive=True),
    "timeout": Option(float, 5.0, "seconds a whole call may take before StoreError", positive=True),
    "connect_timeout": Option(float, 2.0, "seconds to open a connection", positive=True),
}


@dataclass(frozen=True)
class MemcachedConfig:
    """Where the server is and how to talk to it (``url`` is kept for messages)."""

    url: StoreURL
    host: str
    port: int
    namespace: str
    pool_size: int
    timeout: float
    connect_timeout: float

    @classmethod
    def from_url(cls, url: StoreURL, overrides: dict[str, Any]) -> MemcachedConfig:
        """Check ``url`` and options; raise ``ConfigurationError`` naming the bad part."""
        if url.scheme != SCHEME:
            raise ConfigurationError(f"the memcached backend serves memcached://, not {url.scheme}://")
        if len(url.hosts) > 1:
            raise ConfigurationError(
                f"memcached:// takes one server; this backend does not spread keys over several: {url}"
            )
        if url.username is not None or url.password is not None:
            raise ConfigurationError(f"memcached:// takes no user or password (the text protocol has no login): {url}")
        if url.path not in ("", "/"):
            raise ConfigurationError(f"memcached:// takes no path (use ?namespace=... to separate data): {url}")
        opts = resolve_options(OPTIONS, url.query, overrides, scheme=SCHEME)
        host = url.host
        return cls(
            url=url,
            host=host.host if host else DEFAULT_HOST,
            port=host.port if host and host.port else DEFAULT_PORT,
            namespace=opts["namespace"],
            pool_size=opts["pool_size"],
            timeout=opts["timeout"],
            connect_timeout=opts["connect_timeout"],
        )

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"
