"""The suite against the store named by ``--sessionkv-url`` (``pytest --pyargs sessionkv_conformance``).

Each test opens the URL in its own uuid namespace (under the URL's ``namespace`` option, if any)
and deletes what it wrote, so several runs can share one server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from sessionkv import SessionKVStore, StoreURL, open_store
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_conformance.runner import clear_namespace


def _namespace(url: str) -> str:
    base = StoreURL.parse(url).query.get("namespace", "")
    return f"{base}skvc-{uuid.uuid4().hex[:16]}:"


class TestByURL(StoreConformance):
    """Certifies ``--sessionkv-url``; the plugin refuses to run it without one."""

    __sessionkv_url_suite__ = True

    @pytest.fixture
    async def store(self, sessionkv_url: str) -> AsyncIterator[SessionKVStore]:
        async with open_store(sessionkv_url, namespace=_namespace(sessionkv_url)) as store:
            try:
                yield store
            finally:
                await clear_namespace(store)

    @pytest.fixture
    def store_factory(self, sessionkv_url: str) -> StoreFactory:
        return lambda namespace: open_store(sessionkv_url, namespace=namespace)
