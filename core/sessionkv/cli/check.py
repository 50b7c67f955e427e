"""Certify a store backend by URL: run the conformance suite and print a report grouped by area.

Each test runs in its own uuid namespace on the server and deletes what it wrote. Exit code 0
only when every test passed (adapted ones included, each with its reason); 1 otherwise.
"""

from __future__ import annotations

import argparse
import json

from ..discovery import open_store


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="store URL, e.g. memory://check or redis://localhost:6379/0")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--verbose", "-v", action="store_true", help="also show pytest's own output")
    parser.add_argument("-k", dest="select", metavar="EXPR", help="only run tests matching EXPR (pytest -k)")


def run(args: argparse.Namespace) -> int:
    from sessionkv_conformance import AREAS
    from sessionkv_conformance.report import render, run_suite

    open_store(args.url)  # a bad URL or missing backend fails here, with one clear line
    cert = run_suite(args.url, verbose=args.verbose, extra_args=["-k", args.select] if args.select else None)
    print(json.dumps(cert.to_dict(), indent=2) if args.json else render(cert, AREAS))
    return 0 if cert.certified else 1
