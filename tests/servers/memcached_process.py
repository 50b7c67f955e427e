"""Throwaway memcached processes (loopback, TCP only); no pytest, so bench/ can use it too."""

from __future__ import annotations

from pathlib import Path

from .process import ServerProcess, find_binary, tcp_exchange


def memcached_argv(port: int, memory_mb: int = 64, extra: tuple[str, ...] = ()) -> list[str]:
    """The command line of a throwaway memcached: loopback only, no UDP, ``memory_mb`` of cache.

    ``-u root`` is needed (and harmless otherwise) when the tests run as root.
    """
    binary = find_binary("memcached") or "memcached"
    return [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-u", "root", "-m", str(memory_mb), *extra]


def memcached_answers(server: ServerProcess) -> bool:
    """Ready once ``version`` gets ``VERSION ...``."""
    return tcp_exchange(server.host, server.port, b"version\r\n").startswith(b"VERSION ")


def start_memcached(
    *extra: str, memory_mb: int = 64, port: int | None = None, workdir: Path | None = None
) -> ServerProcess:
    """Start one memcached (``extra`` CLI arguments appended) and wait until it answers."""
    server = ServerProcess(
        "memcached",
        lambda p, _d: memcached_argv(p, memory_mb, extra),
        ready=memcached_answers,
        port=port,
        workdir=workdir,
    )
    return server.start()


def memcached_url(server: ServerProcess, **query: str) -> str:
    """``memcached://127.0.0.1:PORT`` with ``query`` options appended."""
    options = "&".join(f"{name}={value}" for name, value in query.items())
    return f"memcached://{server.host}:{server.port}" + (f"?{options}" if options else "")
