"""Standard output that may be closed early: ``sessionkv ... | head`` ends quietly, not with a traceback.

When the reader of a pipe exits (``head`` after its lines), the next write raises ``BrokenPipeError``
(Python ignores SIGPIPE). ``stdout_closed()`` (what ``sessionkv.cli.main`` does) or
``reader_may_leave()`` (a ``__main__`` module's body) turn that into exit status 141 (128 + SIGPIPE, what
a shell reports for a command killed by it) and point stdout at ``/dev/null``, so the interpreter's
final flush does not raise again ("Exception ignored ... BrokenPipeError").
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

#: Exit status when the reader of stdout went away (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


def stdout_closed() -> int:
    """After a ``BrokenPipeError`` on stdout: send what is left to ``/dev/null``; the exit status (141)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_BROKEN_PIPE


@contextlib.contextmanager
def reader_may_leave() -> Iterator[None]:
    """Run the body and flush stdout; a closed pipe raises ``SystemExit(141)`` with nothing printed."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise SystemExit(stdout_closed()) from None
