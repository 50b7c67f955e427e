"""The tiered store's derived capabilities are verified, not trusted: the conformance suite rejects a tiered store
that derives a promise wrongly (tiered_mutants.py) and certifies the correct derivation over the same tiers; a copy
warmed by a read outlives its key by at most what ``ttl_resolution`` declares."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tiered_mutants import MUTANTS

from sessionkv import tiered
from sessionkv_memory import MemoryStore

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str], str]:
    """Every (mutant, named test) pair and the same tests on the correct tiered store, in one subprocess."""
    ids = []
    for mutant, (_, _, tests) in MUTANTS.items():
        ids += [f"tiered_mutant_suites.py::Test{mutant.__name__}::{name}" for name in tests]
        ids += [f"tiered_mutant_suites.py::TestCorrectLike{mutant.__name__}::{name}" for name in tests]
    xml = HERE / f".junit-tiered-{uuid.uuid4().hex[:8]}.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", f"--junitxml={xml}", *ids]
    try:
        run = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=300)
        assert xml.exists(), run.stdout + run.stderr
        found: dict[tuple[str, str], str] = {}
        for case in ET.parse(xml).getroot().iter("testcase"):
            children = {child.tag for child in case}
            outcome = "failed" if "failure" in children else "error" if "error" in children else "passed"
            found[(case.get("classname", "").rsplit(".", 1)[-1], case.get("name", ""))] = outcome
    finally:
        xml.unlink(missing_ok=True)
    assert len(found) == len(ids), f"expected {len(ids)} results, got {len(found)}"
    return found


@pytest.mark.parametrize(
    ("mutant", "test"), [(mutant.__name__, name) for mutant, (_, _, tests) in MUTANTS.items() for name in tests]
)
def test_a_wrongly_derived_capability_is_rejected(outcomes: dict[tuple[str, str], str], mutant: str, test: str) -> None:
    assert outcomes[(f"Test{mutant}", test)] == "failed", f"{test} did not catch {mutant}"
    assert outcomes[(f"TestCorrectLike{mutant}", test)] == "passed", f"{test} fails on the correct tiered store"


@pytest.mark.asyncio
async def test_a_warmed_copy_outlives_its_key_by_at_most_the_declared_resolution() -> None:
    tag = uuid.uuid4().hex[:8]
    hot, durable = MemoryStore(name=f"hot-{tag}"), MemoryStore(name=f"durable-{tag}")
    async with tiered(hot, durable, warm_ttl=0.6) as store:
        ttl = 0.2
        await durable.set("k", b"v", ttl)  # written by another node: no hot copy yet
        begun = time.monotonic()
        assert await store.get("k") == b"v"  # warms the hot tier for warm_ttl
        assert await hot.get("k") == b"v"
        await asyncio.sleep(ttl + 0.1)
        assert await durable.get("k") is None
        outlived = await store.get("k")
        if time.monotonic() - begun < store.warm_ttl:  # unless the machine stalled past the copy's life
            assert outlived == b"v", "the warmed copy did not outlive its key: the window is not where documented"
        assert store.capabilities.ttl_resolution >= store.warm_ttl
        await asyncio.sleep(max(0.0, begun + ttl + store.capabilities.ttl_resolution - time.monotonic()))
        assert await store.get("k") is None, "a warmed copy outlived its key by more than ttl_resolution"
