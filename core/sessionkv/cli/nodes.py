"""List the live nodes (those heartbeating within their ttl) with their session counts."""

from __future__ import annotations

import argparse
import json

from ..registry import SessionRegistry
from .arguments import warn_if_process_local
from .session_tables import nodes_table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="store URL, e.g. redis://localhost:6379/0")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


async def run(args: argparse.Namespace) -> int:
    warn_if_process_local(args.url)
    async with SessionRegistry(args.url) as registry:
        found = await registry.nodes()
    if args.json:
        print(json.dumps([node.to_dict() for node in found], indent=2, ensure_ascii=False))
    elif found:
        print(nodes_table(found))
    else:
        print("no live nodes")
    return 0
