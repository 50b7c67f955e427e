"""List the store backends: scheme, providing package, installed or not, how to install."""

from __future__ import annotations

import argparse
import json

from ..discovery import BackendStatus, list_backends
from .table import render_table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def status(row: BackendStatus) -> str:
    """One phrase saying whether the scheme can be opened here, and if not, why."""
    if not row.ready:
        return "announced, not implemented in this release"
    if row.error:
        return f"broken: {row.error}"
    if not row.installed:
        return f"needs its client library: {row.install or 'see its package'}"
    return "ready to use"


def run(args: argparse.Namespace) -> int:
    rows = list_backends()
    if args.json:
        explained = [
            {
                **row.__dict__,
                "status": status(row),
                "_fields": "installed: its client library imports here; ready: implemented in this release",
            }
            for row in rows
        ]
        print(json.dumps(explained, indent=2))
        return 0
    table = [(r.scheme, r.distribution, "yes" if r.installed else "no", status(r)) for r in rows]
    print(render_table(("scheme", "package", "client installed", "status"), table))
    return 0
