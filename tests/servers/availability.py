"""What to do when a test server cannot be had: skip locally, fail under CI (``CI`` set)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but an empty/false value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def server_unavailable(reason: str) -> NoReturn:
    """Skip the test with ``reason``; under CI a missing server fails the run instead."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so a missing server is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


def docker_answers() -> bool:
    """True if a Docker engine answers a ping (the docker package is imported lazily)."""
    try:
        import docker  # type: ignore[import-untyped,unused-ignore]

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False
