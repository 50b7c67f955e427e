"""The one way every backend's tests get a server: env URL -> local binary -> Docker -> skip (fail in CI).

A backend's fixture module calls ``server_ladder`` with how to start its server locally and,
optionally, through testcontainers; it yields an ``Endpoint`` for the whole test session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from .availability import docker_answers, server_unavailable
from .process import ServerProcess, find_binary


@dataclass
class Endpoint:
    """Where a test server listens; ``processes`` is empty when the server is not ours (env URL, Docker)."""

    url: str
    processes: list[ServerProcess] = field(default_factory=list)

    @property
    def owned(self) -> bool:
        return bool(self.processes)

    @property
    def process(self) -> ServerProcess:
        """The single process behind this endpoint (for kill/stop/restart tests); fails if not ours."""
        if len(self.processes) != 1:
            raise RuntimeError(f"{self.url} is not one server process this test session started")
        return self.processes[0]


#: Starts the server(s) locally and returns the endpoint (its processes are cleaned up afterwards).
LocalStarter = Callable[[], Endpoint]
#: Yields the URL of a server running in a Docker container (testcontainers), stopping it afterwards.
DockerStarter = Callable[[], Iterator[str]]


def server_ladder(
    what: str,
    *,
    env_var: str,
    binaries: Sequence[str],
    start_local: LocalStarter,
    docker: DockerStarter | None = None,
) -> Iterator[Endpoint]:
    """Yield an endpoint for ``what``: ``env_var``'s URL, else local ``binaries``, else Docker, else unavailable."""
    url = os.environ.get(env_var)
    if url:
        yield Endpoint(url)
        return
    missing = [name for name in binaries if find_binary(name) is None]
    if missing:
        if docker is not None and docker_answers():
            yield from (Endpoint(docker_url) for docker_url in docker())
            return
        server_unavailable(f"{what}: no {', '.join(missing)} binary, no Docker engine and {env_var} is not set")
    endpoint = start_local()
    try:
        yield endpoint
    finally:
        for process in endpoint.processes:
            process.cleanup()


def testcontainer(module: str, cls: str, image: str, port: int, url: Callable[[str, int], str]) -> DockerStarter:
    """A ``DockerStarter`` for a testcontainers class (tries ``testcontainers.community.<module>`` first)."""

    def start() -> Iterator[str]:
        import importlib

        container_cls = None
        for path in (f"testcontainers.community.{module}", f"testcontainers.{module}"):
            try:
                container_cls = getattr(importlib.import_module(path), cls)
                break
            except (ImportError, AttributeError):
                continue
        if container_cls is None:
            server_unavailable(f"Docker answers but testcontainers has no {cls}")
        with container_cls(image) as container:
            yield url(container.get_container_host_ip(), int(container.get_exposed_port(port)))

    return start
