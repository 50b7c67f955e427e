"""Throwaway servers of every server backend for the fault tests, with the means to hurt them.

``start_faulty(backend)`` starts a Redis, a 3-primary Redis Cluster, a memcached, an etcd, a moto or a PostgreSQL
server on the per-test factories of tests/servers/ and returns a ``Faulty``: the processes, a URL with short timeouts,
and ``bound``, the longest one call may take with them (from the backend's documented timeout options).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from dataclasses import dataclass, field
from typing import Any

from hardening_support import call_bound

from servers.availability import server_unavailable
from servers.dynamodb_process import moto_installed, start_moto, table_url, use_dummy_credentials
from servers.etcd_process import start_etcd
from servers.memcached_process import memcached_url, start_memcached
from servers.postgres_process import PostgresProcess, postgres_bin_dir, postgres_url, psql, start_postgres
from servers.process import ServerProcess, ServerStartError, find_binary, wait_for_cluster
from servers.redis_process import cluster_ok, start_redis, start_redis_cluster
from sessionkv import open_store

#: Timeouts on every fault URL (seconds): short, so an outage shows within a fraction of a second.
SHORT = 0.5
#: How each backend names its timeouts, and the values the fault tests use.
FAULT_OPTIONS: dict[str, dict[str, str]] = {
    "redis": {"socket_timeout": str(SHORT), "socket_connect_timeout": str(SHORT), "retries": "1"},
    "redis-cluster": {"socket_timeout": str(SHORT), "socket_connect_timeout": str(SHORT), "retries": "1"},
    "memcached": {"timeout": str(SHORT), "connect_timeout": str(SHORT)},
    "etcd": {"timeout": "1.0"},
    "dynamodb": {"connect_timeout": str(SHORT), "read_timeout": str(SHORT), "retries": "1"},
    # PostgreSQL's start runs a few statements (the table check): 0.5 s each did not always do on a loaded CI
    "postgres": {"command_timeout": "1.0", "connect_timeout": "1.0", "create_table": "true"},
}
BINARIES = {
    "redis": ["redis-server"],
    "redis-cluster": ["redis-server", "redis-cli"],
    "memcached": ["memcached"],
    "etcd": ["etcd"],
    "dynamodb": [],
    "postgres": [],  # Debian keeps its binaries off PATH: postgres_bin_dir() finds them
}


@dataclass
class Faulty:
    """Servers of one backend owned by this test; ``victim`` is the process the test kills, freezes, restarts."""

    backend: str
    processes: list[ServerProcess]
    url: str
    bound: float
    _frozen: bool = field(default=False, repr=False)

    @property
    def victim(self) -> ServerProcess:
        return self.processes[0]

    def open(self, namespace: str) -> Any:
        """A new (not started) store on these servers, in ``namespace``."""
        return open_store(self.url, namespace=namespace)

    def kill(self) -> None:
        """SIGKILL the victim: no goodbye, its sockets die with it (PostgreSQL: the postmaster, as in a crash)."""
        if isinstance(self.victim, PostgresProcess):
            self.victim.kill()  # also waits for its backends to go, so a restart can reuse the data dir
            return
        pid = self.victim.pid
        assert pid is not None, f"{self.victim} is not running"
        os.kill(pid, signal.SIGKILL)
        self.victim._proc.wait()  # type: ignore[union-attr]  # reap it, so stop() sees it gone

    def freeze(self) -> None:
        """SIGSTOP the victim: it keeps its sockets open and answers nothing (PostgreSQL: every process of it)."""
        assert self.victim.pid is not None
        if isinstance(self.victim, PostgresProcess):
            self.victim.signal_all(signal.SIGSTOP)  # each connection has its own backend process
        else:
            os.kill(self.victim.pid, signal.SIGSTOP)
        self._frozen = True

    def thaw(self) -> None:
        """SIGCONT the victim."""
        if self._frozen and isinstance(self.victim, PostgresProcess):
            self.victim.signal_all(signal.SIGCONT)
        elif self._frozen and self.victim.pid is not None:
            os.kill(self.victim.pid, signal.SIGCONT)
        self._frozen = False

    async def restart(self, *, empty: bool = False) -> None:
        """Start the victim again on the same port; ``empty`` also wipes what it kept on disk (etcd, PostgreSQL).

        Redis, memcached and moto keep nothing across a restart anyway; moto forgets the table too, so it
        is created again here (a real DynamoDB table does not vanish with an outage). PostgreSQL restarts on
        its data dir (crash recovery); ``empty`` then truncates the table, keeping it.
        """
        self.victim.stop()
        if empty and self.backend == "etcd":
            shutil.rmtree(self.victim.workdir / "n1.etcd", ignore_errors=True)
        await asyncio.to_thread(self.victim.start)
        if empty and self.backend == "postgres":
            await asyncio.to_thread(psql, self.victim, "TRUNCATE sessionkv")
        if self.backend == "dynamodb":
            async with open_store(self.url):  # create_table=true
                pass

    async def healed(self, within: float = 60.0) -> None:
        """Wait until the servers themselves have recovered from the fault (thawed or restarted).

        A Redis Cluster primary out for longer than ``cluster-node-timeout`` is marked failed by the others, which
        then refuse every command (CLUSTERDOWN) until they clear the flag, seconds after it answers again (3.2 s
        after a 5 s freeze with the tests' 2 s timeout): this waits for ``cluster_state:ok`` on every node. Other
        backends have nothing to wait for.
        """
        if self.backend == "redis-cluster":
            what = "redis cluster (cluster_state:ok) after the fault"
            await asyncio.to_thread(wait_for_cluster, self.processes, cluster_ok, what, within)

    def cleanup(self) -> None:
        self.thaw()
        for process in self.processes:
            process.cleanup()


def _start(backend: str) -> tuple[list[ServerProcess], str]:
    options = FAULT_OPTIONS[backend]
    query = "&".join(f"{name}={value}" for name, value in options.items())
    if backend == "redis":
        server = start_redis()
        return [server], f"redis://127.0.0.1:{server.port}/0?{query}"
    if backend == "redis-cluster":
        nodes = start_redis_cluster()
        return nodes, "redis+cluster://" + ",".join(f"{n.host}:{n.port}" for n in nodes) + f"?{query}"
    if backend == "memcached":
        server = start_memcached()
        return [server], memcached_url(server, **options)
    if backend == "etcd":
        server = start_etcd()
        return [server], f"etcd://127.0.0.1:{server.port}?{query}"
    if backend == "postgres":
        server = start_postgres()
        return [server], postgres_url(server, **options)
    use_dummy_credentials()
    server = start_moto()
    return [server], table_url(f"http://{server.host}:{server.port}", "faults", **options)


def start_faulty(backend: str) -> Faulty:
    """Start the servers of ``backend`` for one test (skip, or fail under CI, if they cannot be had)."""
    missing = [name for name in BINARIES[backend] if find_binary(name) is None]
    if backend == "postgres" and postgres_bin_dir() is None:
        missing = ["PostgreSQL 15 (Debian package postgresql)"]
    if missing or (backend == "dynamodb" and not moto_installed()):
        server_unavailable(f"the {backend} fault tests need their own servers: {', '.join(missing) or 'moto'} missing")
    try:
        processes, url = _start(backend)
    except ServerStartError as exc:
        server_unavailable(f"could not start {backend} for a fault test: {exc}")
    return Faulty(backend, processes, url, call_bound(url))
