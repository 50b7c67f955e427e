"""A backend author needs only pytest and this package: the suite runs with no async plugin,
pytest-asyncio strict and auto modes, and anyio, with the store and the tests on one loop.

Each setup is a fresh pytest run (``-W error``) of an author's file that overrides only the sync
``store_factory`` fixture and adds two ``async def`` tests of its own.
"""

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

import pytest
{extra_import}
from sessionkv_conformance import StoreConformance
from sessionkv_memory import MemoryStore

{module_marks}


class LoopRecordingStore(MemoryStore):
    async def _start(self):
        self.started_on = asyncio.get_running_loop()
        await super()._start()

    async def _close(self):
        assert asyncio.get_running_loop() is self.started_on, "closed on another loop"
        await super()._close()


class TestAuthorStore(StoreConformance):
    @pytest.fixture
    def store_factory(self):
        return lambda namespace: LoopRecordingStore(name="author", namespace=namespace)

    async def test_fixture_and_test_share_one_loop(self, store):
        assert asyncio.get_running_loop() is store.started_on
        await store.set("k", b"v", 10)
        assert await store.get("k") == b"v"

    async def test_author_failure_is_reported(self, store):
        await asyncio.sleep(0)
        assert await store.get("never-written") == b"something"


class TestForgotTheFactory(StoreConformance):
    pass
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
#: pytest-asyncio >= 0.24 warns (an error under -W error) unless this is set: where it is in play, set it
ASYNCIO_INI = "asyncio_default_fixture_loop_scope = function\n"
#: setup -> (pytest options, ini lines, extra import, module-level marks)
SETUPS: dict[str, tuple[list[str], str, str, str]] = {
    "no-async-plugin": (["-p", "no:asyncio"], "", "", ""),
    "pytest-asyncio-strict": (["-o", "asyncio_mode=strict"], ASYNCIO_INI, "", ""),
    "pytest-asyncio-strict-marked-module": (  # this repo's own style: a module-wide mark
        ["-o", "asyncio_mode=strict"],
        ASYNCIO_INI,
        "import pytest_asyncio  # noqa: F401",
        "pytestmark = pytest.mark.asyncio",
    ),
    "pytest-asyncio-auto": (["-o", "asyncio_mode=auto"], ASYNCIO_INI, "", ""),
    "anyio": (["-p", "no:asyncio"], "", "", ANYIO_MARKS),
}
#: test name -> (outcome, [(property name, value)], failure text)
Outcome = tuple[str, list[tuple[str, str]], str]


def _start(root: Path, setup: str) -> tuple[subprocess.Popen[str], Path]:
    options, ini_lines, extra_import, module_marks = SETUPS[setup]
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n" + ini_lines)
    source = AUTHOR_FILE.format(extra_import=extra_import, module_marks=module_marks)
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
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[tuple[str, str], Outcome]]:
    """Every setup's run, started together (they are independent) and parsed from JUnit XML."""
    base = tmp_path_factory.mktemp("setups")
    started = {setup: _start(base / setup, setup) for setup in SETUPS}  # anyio is in the test extra
    results: dict[str, dict[tuple[str, str], Outcome]] = {}
    for setup, (proc, xml) in started.items():
        output, _ = proc.communicate(timeout=300)
        assert xml.exists(), f"{setup}: {output}"
        results[setup] = {}
        for case in ET.parse(xml).getroot().iter("testcase"):
            tags = {child.tag: child for child in case}
            outcome = next((t for t in ("failure", "error", "skipped") if t in tags), "passed")
            props = [(p.get("name", ""), p.get("value", "")) for p in case.iter("property")]
            text = (tags[outcome].get("message", "") + (tags[outcome].text or "")) if outcome in tags else ""
            cls = case.get("classname", "").rsplit(".", 1)[-1]
            results[setup][(cls, case.get("name", ""))] = (outcome, props, text)
    return results


@pytest.mark.parametrize("setup", list(SETUPS))
def test_suite_runs_under_each_async_setup(runs: dict[str, dict[tuple[str, str], Outcome]], setup: str) -> None:
    outcomes = {name: outcome for (cls, name), (outcome, _, _) in runs[setup].items() if cls == "TestAuthorStore"}
    assert set(outcomes) == set(SELECTED)
    assert outcomes.pop("test_author_failure_is_reported") == "failure", "the author's own async test did not run"
    assert outcomes == dict.fromkeys(outcomes, "passed")


@pytest.mark.parametrize("setup", list(SETUPS))
def test_author_failure_shows_the_comparison_from_the_test(
    runs: dict[str, dict[tuple[str, str], Outcome]], setup: str
) -> None:
    _, _, text = runs[setup][("TestAuthorStore", "test_author_failure_is_reported")]
    assert "assert None == b'something'" in text
    frames = [line for line in text.splitlines() if line.startswith(("test_author_store.py:", "/"))]
    assert frames and frames[0].startswith("test_author_store.py:"), f"traceback does not start at the test: {text}"


def test_missing_store_factory_is_one_clear_error(runs: dict[str, dict[tuple[str, str], Outcome]]) -> None:
    outcome, _, text = runs["no-async-plugin"][("TestForgotTheFactory", "test_batches_of_1000_keys")]
    assert outcome == "error"
    assert "TestForgotTheFactory must override the `store_factory` fixture" in text
