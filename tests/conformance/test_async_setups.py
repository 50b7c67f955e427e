"""A backend author needs only pytest and this package: the suite runs with no async plugin,
pytest-asyncio strict and auto modes, and anyio, with the store fixture and the tests on one loop."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

AUTHOR_FILE = """
import asyncio
import uuid

import pytest
{extra_import}
from sessionkv_conformance import StoreConformance
from sessionkv_memory import MemoryStore

{module_marks}


class TestAuthorStore(StoreConformance):
    @{decorator}
    async def store(self):
        async with MemoryStore(namespace=f"t-{{uuid.uuid4().hex}}:") as s:
            s.fixture_loop = asyncio.get_running_loop()
            yield s
            assert asyncio.get_running_loop() is s.fixture_loop

    async def test_fixture_and_test_share_one_loop(self, store):
        assert asyncio.get_running_loop() is store.fixture_loop
        await store.set("k", b"v", 10)
        assert await store.get("k") == b"v"

    async def test_author_failure_is_reported(self, store):
        await asyncio.sleep(0)
        assert await store.get("never-written") == b"something"
"""
ANYIO_MARKS = """
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""
SELECTED = [
    "test_fixture_and_test_share_one_loop",
    "test_author_failure_is_reported",
    "test_ttl_key_gone_within_declared_resolution",
    "test_only_if_exists_racing_delete_never_resurrects",
    "test_keys_each_key_once_while_others_churn",
    "test_keys_empty_prefix_lists_whole_namespace_only",
    "test_model_based_random_operations",
    "test_batches_of_1000_keys",
]
#: setup -> (pytest options, store fixture decorator, extra import, module-level marks)
SETUPS: dict[str, tuple[list[str], str, str, str]] = {
    "no-async-plugin": (["-p", "no:asyncio"], "pytest.fixture", "", ""),
    "pytest-asyncio-strict": (["-o", "asyncio_mode=strict"], "pytest.fixture", "", ""),
    "pytest-asyncio-strict-marked-module": (  # this repo's own style: decorated fixtures, module-wide mark
        ["-o", "asyncio_mode=strict"],
        "pytest_asyncio.fixture",
        "import pytest_asyncio",
        "pytestmark = pytest.mark.asyncio",
    ),
    "pytest-asyncio-auto": (["-o", "asyncio_mode=auto"], "pytest.fixture", "", ""),
    "anyio": (["-p", "no:asyncio"], "pytest.fixture", "", ANYIO_MARKS),
}
Outcome = tuple[str, list[tuple[str, str]]]


def _start(root: Path, setup: str) -> tuple[subprocess.Popen[str], Path]:
    options, decorator, extra_import, module_marks = SETUPS[setup]
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    source = AUTHOR_FILE.format(decorator=decorator, extra_import=extra_import, module_marks=module_marks)
    (root / "test_author_store.py").write_text(textwrap.dedent(source))
    xml = root / "junit.xml"
    # -p no:benchmark: pytest-benchmark, where installed, warns under xdist, and -W error makes that fatal.
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:benchmark", "-W", "error"]
    cmd += ["-k", " or ".join(SELECTED)]
    cmd += [f"--junitxml={xml}", *options]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, xml


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Outcome]]:
    """Every setup's run, started together (they are independent) and parsed from JUnit XML."""
    base = tmp_path_factory.mktemp("setups")
    started = {setup: _start(base / setup, setup) for setup in SETUPS}  # anyio is in the test extra
    results: dict[str, dict[str, Outcome]] = {}
    for setup, (proc, xml) in started.items():
        output, _ = proc.communicate(timeout=300)
        assert xml.exists(), f"{setup}: {output}"
        results[setup] = {}
        for case in ET.parse(xml).getroot().iter("testcase"):
            tags = {child.tag for child in case}
            outcome = next((t for t in ("failure", "error", "skipped") if t in tags), "passed")
            props = [(p.get("name", ""), p.get("value", "")) for p in case.iter("property")]
            results[setup][case.get("name", "")] = (outcome, props)
    return results


@pytest.mark.parametrize("setup", list(SETUPS))
def test_suite_runs_under_each_async_setup(runs: dict[str, dict[str, Outcome]], setup: str) -> None:
    outcomes = {name: outcome for name, (outcome, _) in runs[setup].items()}
    assert set(outcomes) == set(SELECTED)
    assert outcomes.pop("test_author_failure_is_reported") == "failure", "the author's own async test did not run"
    assert outcomes == dict.fromkeys(outcomes, "passed")


def test_missing_store_factory_is_reported_as_adapted(runs: dict[str, dict[str, Outcome]]) -> None:
    _, props = runs["no-async-plugin"]["test_keys_empty_prefix_lists_whole_namespace_only"]
    reasons = [value for name, value in props if name == "sessionkv_adapted"]
    assert reasons == [
        "no `store_factory` fixture (a second namespace on the same server): "
        "could not check that keys('') never lists another namespace"
    ]
