"""The layering of the library, read from the source (every import statement, including those under
``TYPE_CHECKING`` and inside functions): nothing under ``core/`` imports the conformance suite (it provides
``sessionkv check`` through an entry point instead), and ``store`` and ``lease`` import each other in no way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
SUITE = "sessionkv_conformance"


def module_name(path: Path) -> str:
    """``core/sessionkv/cli/serve.py`` -> ``sessionkv.cli.serve`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(CORE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, package: str | None = None) -> set[str]:
    """Every module ``path`` imports, absolute, with ``from X import Y`` also naming ``X.Y`` (it may be a module).

    ``package``: the package relative imports start from (by default, read from the file's place under core/).
    """
    if package is None:
        package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def ancestors(name: str) -> set[str]:
    """``sessionkv.cli.serve`` -> ``{sessionkv, sessionkv.cli}``: packages Python has imported before the module."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def core_graph() -> dict[str, set[str]]:
    """Module -> the core modules it imports (not its own packages: ``from . import x`` needs only ``x``)."""
    sources = {module_name(path): path for path in CORE.rglob("*.py")}
    return {name: (imported(path) & sources.keys()) - ancestors(name) for name, path in sources.items()}


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return False


def test_the_scan_sees_imports_of_every_kind(tmp_path: Path) -> None:
    """The scanner itself: absolute, relative at two levels, under TYPE_CHECKING and inside a function."""
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import B\n"
        "def f():\n    import sessionkv_conformance.report\n    from ..c import d\n"
    )
    found = imported(source, "sessionkv.cli")
    assert {"sessionkv.cli.a", "sessionkv.cli.a.B", "sessionkv_conformance.report", "sessionkv.c.d"} <= found, found


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_no_core_module_imports_the_conformance_suite(path: Path) -> None:
    suite = {name for name in imported(path) if name == SUITE or name.startswith(SUITE + ".")}
    assert not suite, f"{path.relative_to(CORE)} imports {sorted(suite)}: the library must not import its test suite"


def test_store_and_lease_import_each_other_in_no_way() -> None:
    graph = core_graph()
    assert "sessionkv.lease" in graph["sessionkv.store"], "the scan must see store -> lease"
    assert not reaches(graph, "sessionkv.lease", "sessionkv.store"), "lease reaches store: an import cycle"
