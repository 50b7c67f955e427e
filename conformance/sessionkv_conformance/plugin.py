"""pytest plugin (entry point ``pytest11``): the suite's options, its marker and the adaptations summary.

It runs nothing by itself and touches no pytest internals: the event loop, the ``store`` fixture
and the test runners live in the suite's classes. It also registers the suite's modules for
assert rewriting as it loads, before any test module imports them.
"""

from __future__ import annotations

from typing import Any

import pytest

from .rewrite import mark_suite_for_rewrite
from .runner import ADAPTED_PROPERTY, BACKEND_PROPERTY, STORE_NOTE_PROPERTY


def pytest_addoption(parser: pytest.Parser) -> None:
    # Called as pytest registers this plugin, after its assertion rewriter is installed (also on a
    # second in-process run, when this module is already imported): the right moment to register.
    mark_suite_for_rewrite()
    group = parser.getgroup("sessionkv", "sessionkv conformance suite")
    group.addoption(
        "--sessionkv-url",
        dest="sessionkv_url",
        default=None,
        metavar="URL",
        help="store URL certified by `pytest --pyargs sessionkv_conformance` (each test gets its own namespace)",
    )
    group.addoption(
        "--sessionkv-factory",
        dest="sessionkv_factory",
        default=None,
        metavar="MODULE:CALLABLE",
        help="callable returning a NOT started store, certified by `pytest --pyargs sessionkv_conformance` "
        "(called with namespace= or key_prefix= when it takes one)",
    )
    group.addoption(
        "--sessionkv-deadline",
        dest="sessionkv_deadline",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds each step of a conformance test may take before it fails (default: 120)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sessionkv_area(name): report area of a sessionkv conformance test")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Each store under test with how the suite adapted to it as a whole, then every per-test adaptation."""
    stores: dict[str, list[str]] = {}
    lines: list[str] = []
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            props = list(getattr(report, "user_properties", ()))
            backend = next((value for key, value in props if key == BACKEND_PROPERTY), None)
            notes = stores.setdefault(backend, []) if backend is not None else []
            for key, value in props:
                if key == STORE_NOTE_PROPERTY and value not in notes:
                    notes.append(value)
                elif key == ADAPTED_PROPERTY and getattr(report, "when", "call") == "call":
                    line = f"ADAPTED {report.nodeid}: {value}"
                    if line not in lines:
                        lines.append(line)
    if not (stores or lines):
        return
    terminalreporter.write_sep("=", "sessionkv conformance adaptations")
    for backend, notes in stores.items():
        terminalreporter.write_line(f"store under test: {backend}")
        for note in notes:
            terminalreporter.write_line(f"  {note}")
    for line in lines:
        terminalreporter.write_line(line)
