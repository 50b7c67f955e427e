"""Helpers for the hardening tests: the documented worst-case duration of one call, and exception walking."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sessionkv import StoreURL
from sessionkv.discovery import default_catalog

#: Slack on top of a call's bound for a loaded CI machine; the bound itself is what the docs promise.
MARGIN = 2.0
#: botocore's "standard" retry mode waits at most this long between attempts (``rand * 2 ** attempt``, capped).
BOTOCORE_MAX_BACKOFF = 20.0
#: sessionkv_redis backs off at most this long between retries (``ExponentialWithJitterBackoff(cap=0.5)``).
REDIS_MAX_BACKOFF = 0.5


def resolved_options(url: str) -> dict[str, Any]:
    """The typed options a URL opens its store with: the backend's defaults overridden by the query."""
    parsed = StoreURL.parse(url)
    factory = default_catalog.load_factory(parsed.scheme)
    values = {name: option.default for name, option in factory.options.items()}
    values.update({name: factory.options[name].from_text(name, text) for name, text in parsed.query.items()})
    return values


def call_bound(url: str) -> float:
    """The longest one store call may take, by the backend's timeout options (the table in docs/guarantees.md)."""
    scheme = StoreURL.parse(url).scheme
    opts = resolved_options(url)
    if scheme in ("redis", "rediss", "unix", "redis+cluster"):
        attempts = opts["retries"] + 1
        per_attempt = opts["socket_connect_timeout"] + opts["socket_timeout"]
        return float(attempts * per_attempt + opts["retries"] * REDIS_MAX_BACKOFF)
    if scheme == "memcached":
        return float(opts["timeout"])
    if scheme in ("etcd", "etcds"):
        return float(opts["timeout"])
    if scheme == "dynamodb":
        attempts = opts["retries"] + 1
        backoff = sum(min(BOTOCORE_MAX_BACKOFF, 2.0**i) for i in range(opts["retries"]))
        return float(attempts * (opts["connect_timeout"] + opts["read_timeout"]) + backoff)
    if scheme in ("postgresql", "postgres"):
        # Two attempts (a broken connection retries once), each a pool acquire then one statement, and the
        # pool told to replace its connections in between (bounded by connect_timeout too).
        return float(3 * opts["connect_timeout"] + 2 * opts["command_timeout"])
    raise ValueError(f"no documented call bound for {scheme}://")


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception reachable through ``__cause__``/``__context__`` (each once)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def exception_text(exc: BaseException) -> str:
    """Everything an operator could see of ``exc``: str and repr of it and of every chained exception."""
    return "\n".join(f"{type(e).__name__}: {e}\n{e!r}\n{e.args!r}" for e in exception_chain(exc))


def namespace(tag: str = "h") -> str:
    """A namespace unique to one test."""
    return f"{tag}-{uuid.uuid4().hex[:10]}:"
