"""``python -m bench [--quick | --smoke] [--only NAME[,NAME]] [--out DIR]``: run the suites, write latest.md/.png.

Starts every server it needs on loopback ports (as the tests do) and stops them by PID at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import time
from pathlib import Path

from . import ROOT
from .chart import draw
from .ratio import FULL, QUICK, SMOKE
from .report import Report, render
from .servers import Servers
from .suite import Context
from .suites import SUITES


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer pairs, shorter blocks, smaller sizes (about 4 min)")
    mode.add_argument(
        "--smoke", action="store_true", help="quick sizes, one pair of tiny blocks: checks every benchmark runs (CI)"
    )
    parser.add_argument("--only", default="", help=f"comma-separated suites, of: {', '.join(SUITES)}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="directory for the results")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.only.split(",") if name.strip()] or list(SUITES)
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    args.names = names
    return args


async def run_suites(context: Context, names: list[str]) -> None:
    for name in names:
        started = time.perf_counter()
        print(f"[bench] {name} ...", flush=True)
        await SUITES[name](context)
        print(f"[bench] {name} done in {time.perf_counter() - started:.1f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    profile = SMOKE if args.smoke else QUICK if args.quick else FULL
    context = Context(profile, Servers(), Report())
    started = time.perf_counter()
    try:
        asyncio.run(run_suites(context, args.names))
    finally:
        context.servers.close()
    context.report.servers = dict(context.servers.versions)
    elapsed = time.perf_counter() - started
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    args.out.mkdir(parents=True, exist_ok=True)
    markdown = args.out / "latest.md"
    markdown.write_text(render(context.report, command.strip(), elapsed), encoding="utf-8")
    title = f"sessionkv: ours / baseline, same run ({command.strip()})"
    draw(context.report.bars, args.out / "latest.png", title, context.report.soak)
    print(f"[bench] wrote {markdown} and {args.out / 'latest.png'} in {elapsed:.0f} s")
    return 1 if context.report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
