"""Capture every log record of every logger (formatted, with arguments and exception text) for secret checks.

A context manager rather than ``caplog``: hypothesis runs many examples in one test, and each needs its own.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.NOTSET)
        self.into = into
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(self.format(record) + f" args={record.args!r}")


@contextlib.contextmanager
def captured_logs(level: int = logging.DEBUG) -> Iterator[list[str]]:
    """Every record logged at ``level`` or above inside the block, formatted (tracebacks included)."""
    records: list[str] = []
    handler = _Collect(records)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
