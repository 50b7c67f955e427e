"""Have pytest rewrite the suite's asserts, so a failure shows the compared values on both sides.

pytest rewrites only test files and modules registered before they are imported; the suite is
an installed package (for an editable install pytest does not mark it automatically), so the
plugin registers these modules as it loads, before any test module imports the suite.
"""

from __future__ import annotations

import pytest

#: every suite module holding asserts (plus the one that imports them all)
SUITE_MODULES = tuple(
    f"sessionkv_conformance.{name}"
    for name in (
        "area_batch",
        "area_concurrency",
        "area_conditional",
        "area_edges",
        "area_expire",
        "area_listing",
        "area_model",
        "area_raw",
        "area_ttl",
        "area_versioned",
        "differ",
        "helpers",
        "suite",
    )
)


def mark_suite_for_rewrite() -> None:
    """Register the suite's modules with the running pytest's assertion rewriter (harmless outside pytest)."""
    pytest.register_assert_rewrite(*SUITE_MODULES)
