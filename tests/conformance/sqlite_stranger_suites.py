"""The subclass route over the SQLite strangers (run by test_stranger_variants.py in a subprocess, not collected)."""

from __future__ import annotations

import os
import tempfile

import pytest
import sqlite_strangers

from sessionkv_conformance import StoreConformance, StoreFactory


class SQLiteSuite(StoreConformance):
    """The suite over ``stranger``, each test on its own database file shared by the test's namespaces."""

    stranger: type[sqlite_strangers.SQLiteStranger] = sqlite_strangers.SQLiteStranger

    @pytest.fixture
    def store_factory(self, tmp_path: os.PathLike[str]) -> StoreFactory:
        database = os.path.join(tempfile.mkdtemp(dir=tmp_path), "server.db")
        return lambda namespace: self.stranger(namespace=namespace, database=database)


class TestSQLiteStranger(SQLiteSuite):
    """Correct."""


for _variant in (*sqlite_strangers.VARIANTS, *sqlite_strangers.EVERYWHERE):
    globals()[f"Test{_variant.__name__}"] = type(f"Test{_variant.__name__}", (SQLiteSuite,), {"stranger": _variant})
