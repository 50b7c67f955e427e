"""A failing conformance test shows the compared values and a traceback starting at the test, in every route.

The store is deliberately broken (``keys("a*")`` as a glob). Routes: ``pytest --pyargs
sessionkv_conformance`` and a ``StoreConformance`` subclass here, each with and without plugin
autoload (fresh pytest runs of the editable install); ``sessionkv check`` is covered in
test_check_cli.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
TEST = "test_keys_prefix_is_literal_not_glob"
PYARGS = ["--pyargs", "sessionkv_conformance", "--sessionkv-factory=strangers:glob_store", "-k", TEST]
SUBCLASS = [str(HERE / f"stranger_suites.py::TestGlobKeys::{TEST}")]
#: pytest >= 9 marks an editable install's plugin package for rewriting itself; without plugin
#: autoload (as `sessionkv check` runs) only the suite's own registration does it
NO_AUTOLOAD = ["-p", "sessionkv_conformance.plugin"]
ROUTES = {
    "pyargs": (PYARGS, False),
    "subclass": (SUBCLASS, False),
    "pyargs-no-autoload": (PYARGS + NO_AUTOLOAD, True),
    "subclass-no-autoload": (SUBCLASS + NO_AUTOLOAD, True),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each route's pytest output, run from an empty directory with only a bare pytest.ini."""
    procs = {}
    for route, (args, no_autoload) in ROUTES.items():
        root = tmp_path_factory.mktemp(route)
        asyncio_ini = "" if no_autoload else "asyncio_default_fixture_loop_scope = function\n"  # pytest-asyncio's
        (root / "pytest.ini").write_text("[pytest]\n" + asyncio_ini)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parent), env.get("PYTHONPATH", "")])
        if no_autoload:
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:benchmark", "--rootdir", str(root)]
        cmd += ["-c", str(root / "pytest.ini"), *args]
        procs[route] = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    return {route: proc.communicate(timeout=300)[0] for route, proc in procs.items()}


def failure_section(output: str) -> str:
    """The FAILURES block of one pytest run."""
    assert "1 failed" in output, output
    section = output.split(" FAILURES ", 1)[1]
    return section.split("warnings summary", 1)[0].split("short test summary", 1)[0]


@pytest.mark.parametrize("route", list(ROUTES))
def test_failure_shows_both_sides_of_the_comparison(outputs: dict[str, str], route: str) -> None:
    section = failure_section(outputs[route])
    assert "AssertionError: keys('a*') is not a literal prefix" in section
    assert "E           assert ['a%e', 'a*b'..., 'a[x]', ...] == ['a*b']" in section


@pytest.mark.parametrize("route", list(ROUTES))
def test_failure_traceback_starts_at_the_test(outputs: dict[str, str], route: str) -> None:
    section = failure_section(outputs[route])
    code = [line.strip() for line in section.splitlines() if line.strip().startswith(("def ", "async def "))]
    assert code[0].startswith(f"async def {TEST}("), section
    assert "runner.py" not in section and "asyncio" not in section, "wrapper frames in the traceback"
