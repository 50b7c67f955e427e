"""The suite against ``--sessionkv-url`` or ``--sessionkv-factory`` (``pytest --pyargs sessionkv_conformance``).

Each test gets its own uuid namespace (under the URL's ``namespace`` option, if any) and deletes
what it wrote, so several runs can share one server.
"""

from __future__ import annotations

import pytest

from sessionkv_conformance import StoreConformance
from sessionkv_conformance.targets import CallableFactory, StoreFactory, url_factory

USAGE_ERROR = pytest.ExitCode.USAGE_ERROR
USAGE = (
    "sessionkv_conformance: pass --sessionkv-url=SCHEME://... or --sessionkv-factory=MODULE:CALLABLE to certify "
    "a store (or subclass sessionkv_conformance.StoreConformance and override the `store_factory` fixture)"
)


class TestByURL(StoreConformance):
    """Certifies the store named on the command line; stops the run with a usage error without one."""

    @pytest.fixture
    def store_factory(self, request: pytest.FixtureRequest) -> StoreFactory:
        url: str | None = request.config.getoption("sessionkv_url")
        spec: str | None = request.config.getoption("sessionkv_factory")
        if url and spec:
            pytest.exit(
                "sessionkv_conformance: pass --sessionkv-url or --sessionkv-factory, not both", returncode=USAGE_ERROR
            )
        if url:
            return url_factory(url)
        if spec:
            try:
                return CallableFactory(spec)
            except ValueError as exc:
                pytest.exit(f"sessionkv_conformance: {exc}", returncode=USAGE_ERROR)
        pytest.exit(USAGE, returncode=USAGE_ERROR)
