"""List the store backends: scheme, providing package, installed or not, how to install."""

from __future__ import annotations

import argparse
import json

from ..discovery import list_backends
from .table import render_table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    rows = list_backends()
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    table = [
        (
            r.scheme,
            r.distribution,
            "yes" if r.installed else "no",
            "" if r.installed else (r.install or ""),
            r.error or "",
        )
        for r in rows
    ]
    print(render_table(("scheme", "package", "installed", "install with", "problem"), table))
    return 0
