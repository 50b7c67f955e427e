"""The ``sessionkv`` command line.

Each subcommand is one module in this package defining ``configure(parser)`` and
``run(args) -> int``; its docstring's first line is its help. To add one, write the module and
add a line to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
from collections.abc import Sequence

from ..errors import SessionKVError
from ..url import redact
from .output import stdout_closed

#: subcommand name -> module implementing it
COMMANDS: dict[str, str] = {
    "backends": "sessionkv.cli.backends",
    "check": "sessionkv.cli.check",
    "sessions": "sessionkv.cli.sessions",
    "nodes": "sessionkv.cli.nodes",
    "close": "sessionkv.cli.close",
    "serve": "sessionkv.cli.serve",
    "demo": "sessionkv.cli.demo",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand in ``COMMANDS``."""
    parser = argparse.ArgumentParser(prog="sessionkv", description="Share live sessions across nodes.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        summary = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        cmd = sub.add_parser(name, help=summary, description=summary)
        module.configure(cmd)
        cmd.set_defaults(_run=module.run)
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
