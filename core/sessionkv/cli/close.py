"""Ask the node running a session, wherever it is, to close it (exit 1 if no such live session)."""

from __future__ import annotations

import argparse
import sys

from ..registry import SessionInfo, SessionRegistry
from .arguments import add_timeout, warn_if_process_local, within


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="store URL, e.g. redis://localhost:6379/0")
    parser.add_argument("call", metavar="CALL", help="the session's call id")
    parser.add_argument("session", metavar="SESSION", help="the session id")
    add_timeout(parser)


async def _request_close(url: str, call: str, session: str) -> tuple[SessionInfo | None, bool]:
    async with SessionRegistry(url) as registry:
        info = await registry.get(call, session)
        return info, info is not None and await registry.request_close(call, session)


async def run(args: argparse.Namespace) -> int:
    warn_if_process_local(args.url)
    info, requested = await within(args.timeout, args.url, _request_close(args.url, args.call, args.session))
    if info is None or not requested:
        print(f"sessionkv: no live session {args.session!r} in call {args.call!r}", file=sys.stderr)
        return 1
    print(f"close requested: session {args.session!r} of call {args.call!r} on node {info.node_id!r}")
    return 0
