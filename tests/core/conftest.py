"""Fixtures that install throwaway distributions with real entry points on sys.path."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FakeDist = Callable[..., Path]


@pytest.fixture
def fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDist]:
    """Write a distribution (dist-info with entry points, plus modules) and put it on sys.path.

    importlib.metadata finds it exactly as it finds a pip-installed package.
    """
    added: list[str] = []

    def make(name: str, entry_points: dict[str, str], modules: dict[str, str]) -> Path:
        root = tmp_path / name
        info = root / f"{name}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = "\n".join(f"{ep} = {target}" for ep, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[sessionkv.backends]\n{lines}\n")
        for module, source in modules.items():
            (root / f"{module}.py").write_text(textwrap.dedent(source))
            added.append(module)
        monkeypatch.syspath_prepend(str(root))
        return root

    yield make
    for module in added:
        sys.modules.pop(module, None)
