"""Throwaway PostgreSQL 15 servers on loopback ports; no pytest, so bench/ can use it too.

``initdb`` refuses to run as root, so as root the data directory belongs to the ``postgres`` user the
Debian package creates, and both ``initdb`` and the server run as that user (``setpriv`` execs the server
in place, so the PID we hold is the postmaster's: SIGKILL and SIGSTOP reach the server itself). The
server runs with ``fsync=off``: tests need no durability across a machine crash.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

from .process import ServerProcess, tcp_exchange

#: Where Debian's postgresql-15 package puts the server binaries (they are not on PATH).
BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
USER = "postgres"
#: A StartupMessage (protocol 3.0) for the superuser: a server that takes connections answers ``R``
#: (authentication); one still starting or recovering from a crash answers ``E`` ("the database system is
#: starting up"), though it already answers an SSLRequest.
STARTUP = b"user\0" + USER.encode() + b"\0database\0postgres\0\0"
STARTUP_MESSAGE = (8 + len(STARTUP)).to_bytes(4, "big") + (196608).to_bytes(4, "big") + STARTUP


def postgres_bin_dir() -> Path | None:
    """The directory holding ``postgres`` and ``initdb``, or ``None`` when PostgreSQL is not installed."""
    for directory in BIN_DIRS:
        if (Path(directory) / "postgres").exists() and (Path(directory) / "initdb").exists():
            return Path(directory)
    return None


def _as_postgres() -> list[str]:
    """The command prefix running a program as the ``postgres`` user (nothing when not root)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups", "--"]


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def init_data_dir(workdir: Path) -> Path:
    """Run ``initdb`` (trust authentication, superuser ``postgres``) into ``workdir/data``; return it."""
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None, "PostgreSQL is not installed"
    _chown(workdir)
    data = workdir / "data"
    command = [*_as_postgres(), str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8"]
    subprocess.run(command, check=True, capture_output=True, cwd=workdir)
    return data


def postgres_answers(server: ServerProcess) -> bool:
    """True once the server accepts connections: it answers a login with authentication, not an error."""
    return tcp_exchange(server.host, server.port, STARTUP_MESSAGE)[:1] == b"R"


def postgres_url(server: ServerProcess, database: str = "postgres", **options: str) -> str:
    """The URL of ``server``'s superuser (trust authentication) with ``options`` as the query."""
    query = "&".join(f"{name}={value}" for name, value in options.items())
    return f"postgresql://{USER}@{server.host}:{server.port}/{database}{'?' + query if query else ''}"


class PostgresProcess(ServerProcess):
    """A postmaster on its own data dir; ``stop`` waits for its backends to go so a restart reuses the dir."""

    def children(self) -> list[int]:
        """PIDs of the postmaster's child processes (backends, checkpointer...)."""
        if self.pid is None:
            return []
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def signal_all(self, signum: int) -> None:
        """Send ``signum`` to the postmaster and every child (SIGSTOP: the whole server freezes)."""
        pids = [*self.children(), self.pid] if signum != signal.SIGCONT else [self.pid, *self.children()]
        for pid in pids:
            if pid is not None:
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass

    def kill(self) -> None:
        """SIGKILL the postmaster only (as a crash would); its backends notice and exit on their own."""
        assert self._proc is not None and self.pid is not None
        orphans = self.children()
        os.kill(self.pid, signal.SIGKILL)
        self._proc.wait()
        self._proc = None
        _wait_gone(orphans)

    def stop(self, timeout: float = 5.0) -> None:
        orphans = self.children()
        super().stop(timeout)
        _wait_gone(orphans)


def _wait_gone(pids: list[int], timeout: float = 10.0) -> None:
    """Wait until ``pids`` have exited (a new postmaster refuses a data dir whose old backends still live)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def start_postgres(*settings: str, port: int | None = None, workdir: Path | None = None) -> PostgresProcess:
    """Start a PostgreSQL server (``-c name=value`` ``settings`` added) on a fresh data dir and wait until it answers.

    With ``workdir`` holding a data dir already (a restart), ``initdb`` is skipped.
    """
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None, "PostgreSQL is not installed"

    def command(p: int, directory: Path) -> list[str]:
        extra = [arg for setting in settings for arg in ("-c", setting)]
        return [
            *_as_postgres(),
            str(bin_dir / "postgres"),
            "-D",
            str(directory / "data"),
            "-p",
            str(p),
            "-k",
            str(directory),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
            *extra,
        ]

    server = PostgresProcess("postgres", command, ready=postgres_answers, port=port, workdir=workdir)
    if not (server.workdir / "data").exists():
        init_data_dir(server.workdir)
    _chown(server.workdir)
    server.log_path.touch()
    _chown(server.log_path)
    server.start()
    return server


def psql(server: ServerProcess, sql: str, database: str = "postgres") -> str:
    """Run ``sql`` with ``psql`` as the superuser and return its unaligned output (for test setup)."""
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None
    command = [str(bin_dir / "psql"), "-h", server.host, "-p", str(server.port), "-U", USER, "-d", database]
    done = subprocess.run([*command, "-AtX", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    return done.stdout.strip()
