"""Fixtures for the registry tests: shared stores on memory:// and (when available) real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from registry_support import SERVER_FIXTURES, OpenStore

from sessionkv import SessionKVStore, open_store


@pytest.fixture(params=list(SERVER_FIXTURES))
def shared_url(request: pytest.FixtureRequest) -> str:
    """A store URL; every store opened on it (via ``open_shared``) sees the same keys. Unique per test."""
    tag = uuid.uuid4().hex[:10]
    fixture = SERVER_FIXTURES[request.param]
    if fixture is None:
        return f"memory://registry-{tag}"
    url: str = request.getfixturevalue(fixture).url
    return f"{url}{'&' if '?' in url else '?'}namespace=registry-{tag}:"


@pytest_asyncio.fixture
async def open_shared(shared_url: str) -> AsyncIterator[OpenStore]:
    """Opens and starts stores on ``shared_url``; closes them all at the end of the test."""
    opened: list[SessionKVStore] = []

    async def make() -> SessionKVStore:
        store = open_store(shared_url)
        await store.start()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()
