"""argparse types shared by the subcommands: a bad value is argparse's one-line usage error, before any work."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from collections.abc import Awaitable
from typing import TypeVar

from ..discovery import default_catalog
from ..errors import SessionKVError, StoreError
from ..url import StoreURL, redact

T = TypeVar("T")

#: Seconds an operator command (``sessions``, ``nodes``, ``close``) may wait for the store, in all.
DEFAULT_TIMEOUT = 5.0


def port_number(text: str) -> int:
    """A TCP port, 0 (pick a free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {port}")
    return port


def positive_seconds(text: str) -> float:
    """A finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text}")
    return value


def warn_if_process_local(url: str) -> None:
    """Say on stderr when ``url`` names a store that lives only inside this one process (``memory://``)."""
    try:
        spec, _ = default_catalog.spec_for(StoreURL.parse(url).scheme)
    except SessionKVError:
        return  # the command itself reports a bad URL
    if spec.process_local:
        print(
            f"sessionkv: note: {StoreURL.parse(url).scheme}:// lives inside one process, so this command sees only "
            "its own, empty store; use a server-backed URL (e.g. redis://host:6379/0) to see other processes' sessions",
            file=sys.stderr,
        )


def add_timeout(parser: argparse.ArgumentParser) -> None:
    """``--timeout SECONDS``: the bound of the whole command (connect, every call, close)."""
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"fail if the store has not answered everything within SECONDS (default: {DEFAULT_TIMEOUT:g})",
    )


async def within(seconds: float, url: str, work: Awaitable[T]) -> T:
    """``await work``, cancelled after ``seconds``: then ``StoreError`` in one line naming the (redacted) URL.

    A frozen server accepts connections and answers nothing; without this bound a command waits for
    every timeout and retry of its backend (20 s on Redis with the defaults).
    """
    try:
        async with asyncio.timeout(seconds) as deadline:
            return await work
    except TimeoutError:
        if not deadline.expired():
            raise
        raise StoreError(f"{redact(url)} did not answer within {seconds:g} s (--timeout)") from None
