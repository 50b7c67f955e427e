"""Backend discovery through real entry points, pluggy hooks, and the three loading errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sessionkv import (
    BackendCatalog,
    BackendLoadError,
    MissingExtraError,
    SessionKVStore,
    UnknownBackendError,
    open_store,
    register_backend,
)
from sessionkv.discovery import default_catalog
from sessionkv_memory import MemoryStore

FakeDist = Callable[..., Path]

PLUGIN = """
from sessionkv import BackendSpec, hookimpl

@hookimpl
def sessionkv_backends():
    return [BackendSpec(schemes=("fakekv", "fakekvs"), store="fakekv_store:FakeStore",
                        install='pip install "fakekv"', description="a test backend")]
"""
STORE = """
from sessionkv_memory import MemoryStore

class FakeStore(MemoryStore):
    pass
"""


def test_third_party_backend_found_through_its_entry_point(fake_dist: FakeDist) -> None:
    fake_dist(
        "fakekv",
        {"fakekv": "fakekv_plugin", "fakekvs": "fakekv_plugin"},
        {"fakekv_plugin": PLUGIN, "fakekv_store": STORE},
    )
    registry = BackendCatalog()
    assert {"fakekv", "fakekvs", "memory", "redis"} <= set(registry.schemes())
    store = registry.open_store("fakekv://?namespace=n:")
    assert type(store).__name__ == "FakeStore"
    assert store.namespace == "n:"
    assert type(registry.open_store("FAKEKVS://")).__name__ == "FakeStore"
    row = next(r for r in registry.list_backends() if r.scheme == "fakekv")
    assert (row.distribution, row.installed, row.error) == ("fakekv", True, None)


def test_opening_a_scheme_loads_only_its_plugin(fake_dist: FakeDist) -> None:
    fake_dist("fakekv", {"fakekv": "fakekv_plugin"}, {"fakekv_plugin": PLUGIN, "fakekv_store": STORE})
    fake_dist("otherkv", {"otherkv": "otherkv_plugin"}, {"otherkv_plugin": "raise RuntimeError('never import me')"})
    registry = BackendCatalog()
    registry.open_store("fakekv://")
    assert "fakekv_plugin" in sys.modules
    assert "otherkv_plugin" not in sys.modules


def test_broken_plugin_breaks_only_its_own_scheme(fake_dist: FakeDist) -> None:
    fake_dist("brokenkv", {"brokenkv": "brokenkv_plugin"}, {"brokenkv_plugin": "import nonexistent_dep_xyz\n"})
    registry = BackendCatalog()
    with pytest.raises(BackendLoadError) as info:
        registry.open_store("brokenkv://")
    message = str(info.value)
    assert "brokenkv" in message and "'brokenkv'" in message and "nonexistent_dep_xyz" in message
    assert isinstance(registry.open_store("memory://"), MemoryStore)
    row = next(r for r in registry.list_backends() if r.scheme == "brokenkv")
    assert not row.installed and row.error and "nonexistent_dep_xyz" in row.error


def test_plugin_without_hook_for_its_scheme(fake_dist: FakeDist) -> None:
    fake_dist("emptykv", {"emptykv": "emptykv_plugin"}, {"emptykv_plugin": "X = 1\n"})
    with pytest.raises(BackendLoadError, match="does not declare"):
        BackendCatalog().open_store("emptykv://")


def test_missing_extra_names_the_install_command(fake_dist: FakeDist) -> None:
    plugin = PLUGIN.replace('description="a test backend"', 'requires=("fakekv_client_not_installed",)')
    fake_dist("fakekv", {"fakekv": "fakekv_plugin"}, {"fakekv_plugin": plugin, "fakekv_store": STORE})
    with pytest.raises(MissingExtraError) as info:
        BackendCatalog().open_store("fakekv://")
    assert 'pip install "fakekv"' in str(info.value)
    assert info.value.name == "fakekv_client_not_installed"
    assert isinstance(info.value, ImportError)


def test_missing_extra_detected_when_the_store_import_fails(fake_dist: FakeDist) -> None:
    plugin = PLUGIN.replace('description="a test backend"', 'requires=("fakekv_dep",)')
    fake_dist(
        "fakekv",
        {"fakekv": "fakekv_plugin"},
        {"fakekv_plugin": plugin, "fakekv_store": "import fakekv_dep.sub\n", "fakekv_dep": ""},
    )
    with pytest.raises(MissingExtraError) as info:
        BackendCatalog().open_store("fakekv://")
    assert isinstance(info.value.__cause__, ImportError)


def test_unknown_scheme_suggests_the_closest() -> None:
    with pytest.raises(UnknownBackendError) as info:
        open_store("reddis://localhost")
    assert "Did you mean 'redis'?" in str(info.value)
    assert "memory" in str(info.value)
    assert isinstance(info.value, LookupError)
    with pytest.raises(UnknownBackendError) as info:
        open_store("zzzz://")
    assert info.value.suggestion is None


def test_register_backend_in_process() -> None:
    built: list[str] = []

    def factory(url: object, **overrides: object) -> SessionKVStore:
        built.append(str(url))
        return MemoryStore(**overrides)  # type: ignore[arg-type]

    register_backend("inproc", factory)
    try:
        store = open_store("inproc://x", namespace="q:")
        assert store.namespace == "q:"
        assert built == ["inproc://x"]
        with pytest.raises(ValueError, match="already registered"):
            register_backend("inproc", factory)
        register_backend("inproc", MemoryStore, replace=True)
        assert isinstance(open_store("inproc://"), MemoryStore)
    finally:
        default_catalog.unregister_backend("inproc")
    with pytest.raises(UnknownBackendError):
        open_store("inproc://")


def test_factory_must_return_a_store() -> None:
    registry = BackendCatalog()
    registry.register_backend("notastore", lambda url, **kw: object())
    with pytest.raises(TypeError, match="not a SessionKVStore"):
        registry.open_store("notastore://")


CHECK_LAZY = """
import json, sys
import sessionkv
rows = sessionkv.list_backends()
store = sessionkv.open_store("memory://")
clients = ["redis", "aioboto3", "aiobotocore", "aiomcache", "etcd3", "hiredis"]
print(json.dumps({"schemes": sorted(r.scheme for r in rows), "imported": [m for m in clients if m in sys.modules]}))
"""


def test_listing_and_opening_memory_import_no_client_library() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK_LAZY], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["imported"] == []
    assert {"memory", "redis", "rediss", "unix", "dynamodb", "memcached", "etcd"} <= set(result["schemes"])


BLOCK_REDIS = """
import sys
sys.modules["redis"] = None  # as if the extra were not installed
import sessionkv
try:
    sessionkv.open_store("redis://:hunter2@localhost")
except sessionkv.MissingExtraError as exc:
    print(exc)
"""


def test_missing_redis_extra_in_a_process_without_redis() -> None:
    out = subprocess.run([sys.executable, "-c", BLOCK_REDIS], capture_output=True, text=True, check=True)
    assert 'pip install "sessionkv[redis]"' in out.stdout
    assert "hunter2" not in out.stdout
