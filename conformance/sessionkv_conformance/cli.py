"""Certify a store by URL or factory: run the conformance suite and print a report grouped by area.

The ``check`` sub-command of ``sessionkv``, provided by the suite (entry point ``check`` in the
``sessionkv.commands`` group), so the core library never imports its test suite. Importing this module
is cheap (no pytest, no test module): the CLI imports it to build its parser.

``sessionkv check URL`` opens the store by URL; ``sessionkv check --factory MODULE:CALLABLE``
certifies whatever the callable returns (a not-started ``SessionKVStore`` or any object with the
published methods, wrapped with ``sessionkv.adapt``; called with ``namespace=`` or
``key_prefix=`` when it takes one, else with no arguments). Each test runs in its own namespace
and deletes what it wrote. The store is reached once first, so a wrong address fails in one
line. Exit status 0 only when certified: the whole suite ran, every test passed (adapted ones
included, each with its reason) and every promise could be checked; 1 when a test failed; 2 when
the suite could not run (missing pytest, unreachable store, bad arguments, a factory module that
does not import, no test matching ``-k``); 3 when nothing failed but the run was incomplete (a
``-k`` subset, or a promise such as namespace isolation that could not be checked).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from sessionkv import redact

INSTALL_HINT = 'pip install "sessionkv[conformance]"'
PROBE_KEY = "sessionkv-check-probe"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", nargs="?", help="store URL, e.g. memory://check or redis://localhost:6379/0")
    parser.add_argument(
        "--factory",
        metavar="MODULE:CALLABLE",
        help="certify the store this callable returns (not started), instead of a URL",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long the first contact with the store may take (default: 5)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--verbose", "-v", action="store_true", help="also show pytest's own output")
    parser.add_argument(
        "-k", dest="select", metavar="EXPR", help="only run tests matching EXPR (pytest -k; never CERTIFIED: exit 3)"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long each step of a test may take before it fails (default: 120)",
    )


def _error(message: str) -> int:
    print(f"sessionkv: error: {redact(message)}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if bool(args.url) == bool(args.factory):
        return _error("give either a store URL or --factory MODULE:CALLABLE")
    try:
        import pytest  # noqa: F401  (the suite's only requirement beyond sessionkv)
    except ImportError:
        return _error(f"`sessionkv check` needs pytest; install it with: {INSTALL_HINT}")
    # Only the light modules of the suite here: the test modules load inside pytest, rewritten.
    from .report import render, run_suite
    from .runner import AREAS
    from .targets import CallableFactory, StoreFactory, url_factory

    factory: StoreFactory
    if args.url:
        target, option, factory = f"URL {args.url}", f"--sessionkv-url={args.url}", url_factory(args.url)
    else:
        try:
            factory = CallableFactory(args.factory)
        except ValueError as exc:
            return _error(str(exc))
        target, option = f"factory {args.factory}", f"--sessionkv-factory={args.factory}"
    problem = reach(factory, args.connect_timeout)
    if problem:
        return _error(f"cannot use {target}: {problem}")
    extra = ["-k", args.select] if args.select else []
    if args.deadline:
        extra.append(f"--sessionkv-deadline={args.deadline:g}")
    cert = run_suite(target, option, verbose=args.verbose, extra_args=extra)
    if cert.nothing_selected:
        return _error(f"no test matches -k {args.select!r}" if args.select else "no conformance test was collected")
    print(json.dumps(cert.to_dict(), indent=2) if args.json else render(cert, AREAS))
    return cert.status


def reach(factory: Any, timeout: float) -> str | None:
    """Build a store, start it, read one key and close it within ``timeout``; why not, in one line, or ``None``."""
    from .targets import build_store, fresh_namespace

    try:
        store = build_store(factory, fresh_namespace("skvc-probe"))
    except (TypeError, ValueError) as exc:
        return str(exc)

    async def probe() -> None:
        await store.start()
        try:
            await store.get(PROBE_KEY)
        finally:
            await store.close()

    try:
        asyncio.run(asyncio.wait_for(probe(), timeout))
    except TimeoutError:
        return f"no answer within {timeout:g} s (--connect-timeout)"
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else ""
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return None
