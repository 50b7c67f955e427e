"""The backend-author path works from its documentation page alone (docs/writing-a-backend.md).

The page's example backend (plugin and store) and its ``StoreConformance`` test file are
copied out of the page as they are, into a fresh directory; the test file certifies the store
with zero failures, and ``sessionkv check`` certifies it by URL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sessionkv_conformance import StoreConformance

PAGE = Path(__file__).parents[2] / "docs" / "writing-a-backend.md"
FILES = ("sessionkv_mykv/plugin.py", "sessionkv_mykv/store.py", "tests/test_mykv_conformance.py")


def readme_files() -> dict[str, str]:
    """Every python block of the page whose first line is ``# <one of FILES>``."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    found = {}
    for block in blocks:
        first = block.splitlines()[0]
        for name in FILES:
            if first.startswith(f"# {name}"):
                found[name] = block
    return found


@pytest.fixture(scope="module")
def author_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("author")
    files = readme_files()
    assert sorted(files) == sorted(FILES), "the page lost one of the author's files"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "sessionkv_mykv" / "__init__.py").write_text("")
    (root / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return root


def run(root: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env["PYTHONPATH"] = str(root)
    return subprocess.run([sys.executable, *cmd], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_readme_test_file_certifies_the_readme_backend(author_dir: Path) -> None:
    out = run(author_dir, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark", "-W", "error")
    assert out.returncode == 0, out.stdout + out.stderr
    total = sum(name.startswith("test") for name in dir(StoreConformance))
    assert total >= 79
    assert re.search(rf"^{total} passed in ", out.stdout, re.M), out.stdout


def test_check_certifies_the_readme_backend_by_url(author_dir: Path) -> None:
    code = (
        "import sys; from sessionkv import register_backend; from sessionkv_mykv.store import MyKVStore; "
        "register_backend('mykv', MyKVStore); from sessionkv.cli import main; sys.exit(main(['check', 'mykv://srv']))"
    )
    out = run(author_dir, "-c", code)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "store:  sessionkv_mykv.store.MyKVStore (sessionkv.SessionKVStore subclass)" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("CERTIFIED: ")
