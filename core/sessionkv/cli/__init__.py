"""The ``sessionkv`` command line.

Each subcommand is one module defining ``configure(parser)`` and ``run(args) -> int``; its
docstring's first line is its help. The built-in ones are in this package, listed in ``COMMANDS``.
Other distributions add sub-commands as they add backends, through entry points, here the group
``sessionkv.commands`` (entry-point name: the command; value: its module)::

    [project.entry-points."sessionkv.commands"]
    check = "sessionkv_conformance.cli"   # how the conformance suite provides `sessionkv check`

So the core never imports them (nor the test suite). A command's module is imported to build the
parser, so it must be light; one that fails to import is still listed, and running it says why.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from ..errors import SessionKVError
from ..url import redact
from .output import stdout_closed

#: built-in subcommand name -> module implementing it
COMMANDS: dict[str, str] = {
    "backends": "sessionkv.cli.backends",
    "sessions": "sessionkv.cli.sessions",
    "nodes": "sessionkv.cli.nodes",
    "close": "sessionkv.cli.close",
    "serve": "sessionkv.cli.serve",
    "demo": "sessionkv.cli.demo",
}
#: The entry-point group through which other distributions add subcommands.
COMMAND_GROUP = "sessionkv.commands"


def all_commands() -> dict[str, str]:
    """Every subcommand: the built-ins, then those of entry points (a built-in name is never replaced)."""
    found = dict(COMMANDS)
    for ep in sorted(entry_points(group=COMMAND_GROUP), key=lambda ep: ep.name):
        found.setdefault(ep.name, ep.value)
    return found


def _load(name: str, module_name: str) -> tuple[ModuleType | None, Callable[[argparse.Namespace], Any]]:
    """The command's module and its ``run``; a module that fails to import gives a ``run`` saying why."""
    try:
        module = importlib.import_module(module_name)
        return module, module.run
    except Exception as exc:  # a broken plugin must not break every other command
        reason = f"the {name!r} command ({module_name}) failed to load: {type(exc).__name__}: {exc}"

        def broken(args: argparse.Namespace) -> int:
            print(f"sessionkv: error: {redact(reason)}", file=sys.stderr)
            return 2

        return None, broken


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of ``all_commands()``."""
    parser = argparse.ArgumentParser(prog="sessionkv", description="Share live sessions across nodes.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in all_commands().items():
        module, run = _load(name, module_name)
        doc = module.__doc__ if module is not None else f"(failed to load: {module_name})"
        summary = (doc or "").strip().splitlines()[0] if doc else ""
        cmd = sub.add_parser(name, help=summary, description=summary)
        if module is not None:
            module.configure(cmd)
        else:
            cmd.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        cmd.set_defaults(_run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code. Errors print one redacted line, no traceback.

    A closed stdout (``sessionkv sessions URL --json | head``) ends with status 141, no traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        result = args._run(args)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        sys.stdout.flush()  # here, so a reader that left (`| head`) is seen now, not at interpreter exit
        return int(result or 0)
    except BrokenPipeError:
        return stdout_closed()
    except SessionKVError as exc:
        print(f"sessionkv: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
