"""List the live nodes (those heartbeating within their ttl) with their session counts."""

from __future__ import annotations

import argparse
import json

from ..registry import NodeInfo, SessionRegistry
from .arguments import add_timeout, warn_if_process_local, within
from .session_tables import nodes_table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="store URL, e.g. redis://localhost:6379/0")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_timeout(parser)


async def _nodes(url: str) -> list[NodeInfo]:
    async with SessionRegistry(url) as registry:
        return await registry.nodes()


async def run(args: argparse.Namespace) -> int:
    warn_if_process_local(args.url)
    found = await within(args.timeout, args.url, _nodes(args.url))
    if args.json:
        print(json.dumps([node.to_dict() for node in found], indent=2, ensure_ascii=False))
    elif found:
        print(nodes_table(found))
    else:
        print("no live nodes")
    return 0
