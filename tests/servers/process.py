"""Start a server binary on a free loopback port in a temp dir, wait until it answers, stop it by PID.

Generic on purpose (no backend imports): redis, memcached, etcd and moto fixtures all build on it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

LOOPBACK = "127.0.0.1"

#: Builds the command line from the port and the working directory.
CommandFactory = Callable[[int, Path], Sequence[str]]
#: Returns True once the server answers; called repeatedly until it does or the timeout passes.
ReadyProbe = Callable[["ServerProcess"], bool]


class ServerStartError(RuntimeError):
    """The server exited or did not become ready in time; the message ends with its log tail."""


class PortTakenError(ServerStartError):
    """Another process answered on the port this server was to listen on."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tcp_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """True if a TCP connection to ``host:port`` succeeds (the default readiness probe)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tcp_exchange(host: str, port: int, request: bytes, timeout: float = 0.5) -> bytes:
    """Send ``request`` and return the first bytes answered (b"" on any socket error)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request)
            return sock.recv(65536)
    except OSError:
        return b""


def wait_for_cluster(nodes: Sequence[ServerProcess], ready: ReadyProbe, what: str, timeout: float) -> None:
    """Poll until ``ready`` passes on every node; ``ServerStartError`` with the first node's log after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not all(ready(node) for node in nodes):
        if time.monotonic() > deadline:
            raise ServerStartError(f"{what} not ready after {timeout} s:\n{nodes[0].log_tail()}")
        time.sleep(0.05)


def listening_inodes(port: int) -> set[str] | None:
    """The inodes of the TCP sockets listening on ``port`` (any address), or None where /proc/net is absent."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            if table.endswith("6"):
                continue
            return None
        for line in lines:
            fields = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (read from /proc/PID/task/*/children)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(child) for child in children.read_text().split())
    return tree


def listens_on(pid: int, port: int) -> bool:
    """Whether the process ``pid`` (or a child of it) holds the socket listening on ``port``.

    A ready probe alone cannot tell: when two test workers pick the same free port, the second server fails
    to bind but the probe reaches the first one, and a test would then signal a process that serves nothing.
    True where /proc cannot tell.
    """
    inodes = listening_inodes(port)
    if inodes is None:
        return True
    sockets = {f"socket:[{inode}]" for inode in inodes}
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{member}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(fd.path) in sockets:
                        return True
    return False


def find_binary(name: str) -> str | None:
    """The full path of ``name`` on PATH (or in /usr/sbin, /usr/local/bin), or None."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/usr/local/bin")


class ServerProcess:
    """One server process on ``127.0.0.1:port`` with its own temp dir and log file.

    ``restart()`` keeps the port and directory, so clients can prove they reconnect.
    """

    def __init__(
        self,
        name: str,
        command: CommandFactory,
        *,
        ready: ReadyProbe | None = None,
        port: int | None = None,
        workdir: Path | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        self.name = name
        self.command = command
        self.ready = ready or (lambda server: tcp_accepts(server.host, server.port))
        self.host = LOOPBACK
        self.port = port if port is not None else free_port()
        self._port_chosen_here = port is None
        self._own_workdir = workdir is None
        self.workdir = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.env = env
        self.startup_timeout = startup_timeout
        self.log_path = self.workdir / f"{name}-{self.port}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The PID of the running process, or None when stopped."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> ServerProcess:
        """Launch the process and block until ``ready`` passes on a port this process holds; raise
        ``ServerStartError`` otherwise. A port this object picked and another process took is picked again."""
        for _ in range(3):
            try:
                return self._start_once()
            except PortTakenError:
                if not self._port_chosen_here:
                    raise
                self.port = free_port()
                self.log_path = self.workdir / f"{self.name}-{self.port}.log"
        return self._start_once()

    def _start_once(self) -> ServerProcess:
        if self.running:
            return self
        argv = list(self.command(self.port, self.workdir))
        env = {**os.environ, **self.env} if self.env else None
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                argv, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                raise ServerStartError(f"{self.name} exited with code {code} on start:\n{self.log_tail()}")
            if self.ready(self):
                if listens_on(self._proc.pid, self.port):
                    return self
                pid = self._proc.pid
                self.stop()
                raise PortTakenError(f"{self.name}: port {self.port} answered, but not from pid {pid}")
            time.sleep(0.02)
        self.stop()
        raise ServerStartError(f"{self.name} not ready after {self.startup_timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the process by its PID (SIGTERM, then SIGKILL after ``timeout``); safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def restart(self) -> ServerProcess:
        """Stop and start again on the same port and directory."""
        self.stop()
        return self.start()

    def cleanup(self) -> None:
        """Stop the process and remove the temp dir this object created."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log, for error messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "<no log>"

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"<ServerProcess {self.name} {self.host}:{self.port} pid={self.pid}>"
