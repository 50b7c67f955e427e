"""redis-py client helpers the store needs around its commands: errors, limits, closing, the caller's password."""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisClusterException, RedisError, ResponseError

#: Errors from the client that mean "the server failed", turned into ``StoreError``.
SERVER_ERRORS = (RedisError, RedisClusterException, OSError)


def scripting_refused(exc: ResponseError) -> bool:
    """True when the server refuses Lua (EVAL renamed away or denied by ACL), as some managed services do."""
    text = str(exc).lower()
    return "unknown command" in text or "noperm" in text or "no permissions" in text


async def bulk_limit(client: Redis | RedisCluster) -> int | None:
    """The server's ``proto-max-bulk-len`` (the largest value it accepts; min over primaries), if readable.

    ``None`` when CONFIG is denied or renamed (managed services): the 512 MiB default then stands.
    """
    replies: list[Any]
    try:
        if isinstance(client, RedisCluster):
            per_node = await client.config_get("proto-max-bulk-len", target_nodes=RedisCluster.PRIMARIES)
            replies = list(cast("dict[str, Any]", per_node).values())  # one reply per primary
        else:
            replies = [await client.config_get("proto-max-bulk-len")]
        return min(int(next(iter(reply.values()))) for reply in replies)
    except (*SERVER_ERRORS, ValueError, TypeError, AttributeError, StopIteration):
        return None


async def quiet_close(client: Redis | RedisCluster) -> None:
    """Close ``client``, ignoring a server that is already gone."""
    try:
        await client.aclose()
    except SERVER_ERRORS:
        pass


def client_password(client: Redis | RedisCluster | None) -> str | None:
    """The password a caller's client was configured with, to keep it out of error messages."""
    if isinstance(client, Redis):
        kwargs = client.connection_pool.connection_kwargs
    elif isinstance(client, RedisCluster):
        kwargs = client.nodes_manager.connection_kwargs
    else:
        return None
    password = kwargs.get("password")
    return password if isinstance(password, str) else None
