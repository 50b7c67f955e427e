"""Certify SQLiteStore with the sessionkv conformance suite: this file is all a backend needs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sessionkv_sqlite import SQLiteStore

from sessionkv_conformance import StoreConformance, StoreFactory


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def db(self, tmp_path: Path) -> str:
        return str(tmp_path / "sessionkv.db")

    @pytest.fixture
    async def store(self, db: str) -> AsyncIterator[SQLiteStore]:
        async with SQLiteStore(db, namespace=f"test-{uuid.uuid4().hex}:") as store:
            yield store

    @pytest.fixture
    def store_factory(self, db: str) -> StoreFactory:
        return lambda namespace: SQLiteStore(db, namespace=namespace)
