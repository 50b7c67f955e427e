"""List the live sessions of every node (optionally of one call) in a table."""

from __future__ import annotations

import argparse
import json

from ..registry import SessionInfo, SessionRegistry
from .arguments import add_timeout, warn_if_process_local, within
from .session_tables import sessions_table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="store URL, e.g. redis://localhost:6379/0")
    parser.add_argument("--call", metavar="ID", help="only the sessions of this call")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_timeout(parser)


async def _find(url: str, call: str | None) -> list[SessionInfo]:
    async with SessionRegistry(url) as registry:
        return await registry.get_for_call(call) if call is not None else await registry.list_sessions()


async def run(args: argparse.Namespace) -> int:
    warn_if_process_local(args.url)
    found = await within(args.timeout, args.url, _find(args.url, args.call))
    if args.json:
        print(json.dumps([info.to_dict() for info in found], indent=2, ensure_ascii=False))
    elif found:
        print(sessions_table(found))
    else:
        print("no live sessions" + (f" for call {args.call!r}" if args.call is not None else ""))
    return 0
