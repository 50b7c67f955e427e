"""Shared fixtures for sessionkv's own tests; server fixtures live in tests/servers/."""

from __future__ import annotations

# Real-server fixtures (redis_server, redis_cluster, ...); tests/ is on sys.path (rootdir conftest, no __init__.py).
pytest_plugins = [
    "servers.redis",
    "servers.redis_sentinel",
    "servers.memcached",
    "servers.dynamodb",
    "servers.etcd",
    "servers.postgres",
]
