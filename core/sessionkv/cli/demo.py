"""Run the main story: three nodes share sessions, one is closed across nodes, one node crashes."""

from __future__ import annotations

import argparse

from .arguments import positive_seconds
from .demo_app import DemoTiming, run_demo, run_worker


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default="memory://demo",
        help="store URL (default: memory://demo, three nodes in this process; "
        "any other URL, e.g. redis://localhost:6379/0, runs each node as its own process)",
    )
    parser.add_argument("--ttl", type=positive_seconds, default=3.0, help="session ttl in seconds (default: 3)")
    parser.add_argument(
        "--interval", type=positive_seconds, default=1.0, help="heartbeat interval in seconds (default: 1)"
    )
    parser.add_argument("--worker", metavar="NODE_ID", help=argparse.SUPPRESS)
    parser.add_argument("--namespace", help=argparse.SUPPRESS)


async def run(args: argparse.Namespace) -> int:
    timing = DemoTiming(ttl=args.ttl, interval=args.interval)
    if args.worker:
        return await run_worker(args.url, args.worker, timing, args.namespace)
    return await run_demo(args.url, timing)
