"""The Redis and Redis Cluster (redis-py asyncio) backend for sessionkv: ``pip install "sessionkv[redis]"``.

URLs: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` (TLS), ``unix:///path/redis.sock?db=N``,
``redis+cluster://host:port[,host:port...]``. Options (query string or keyword overrides): namespace,
socket_timeout, socket_connect_timeout, max_connections, client_name, retries, db; TLS: ssl_ca_certs,
ssl_certfile, ssl_keyfile, ssl_cert_reqs, ssl_check_hostname (rediss://, and redis+cluster:// with ssl=true).
Or wrap a client you own: ``RedisStore(redis.asyncio.Redis(...), namespace="app:")``.

mset is atomic on one server (MULTI/EXEC), not across a cluster; see ``sessionkv_redis.store``.
Footprint rule: a directory index set expires with its latest member and every write to it prunes up to 64
expired members, in the writing script (``sessionkv_redis.index``): nothing outlives the keys.
This package does not import redis-py until ``RedisStore`` or ``RedisSessionKVStore`` (the published
API's name and constructor) is first accessed, or a redis URL is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessionkv import lazy_exports

if TYPE_CHECKING:
    from .published import RedisSessionKVStore
    from .store import RedisStore

__getattr__ = lazy_exports(__name__, {"RedisStore": ".store", "RedisSessionKVStore": ".published"})


__all__ = ["RedisSessionKVStore", "RedisStore"]
