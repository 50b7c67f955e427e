"""Certify SQLiteStore with the sessionkv conformance suite: this file is all a backend needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sessionkv_sqlite import SQLiteStore

from sessionkv_conformance import StoreConformance, StoreFactory


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        db = str(tmp_path / "sessionkv.db")  # one database per test; the suite picks the namespaces
        return lambda namespace: SQLiteStore(db, namespace=namespace)
