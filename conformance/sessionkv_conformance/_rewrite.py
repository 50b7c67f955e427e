"""Imported first by the package: pytest rewrites the suite's asserts for detailed failure messages.

The suite lives in an installed package, not in test files, so pytest would not rewrite it.
"""

import pytest

pytest.register_assert_rewrite(
    *(
        f"sessionkv_conformance.{module}"
        for module in (
            "area_batch",
            "area_concurrency",
            "area_conditional",
            "area_edges",
            "area_expire",
            "area_listing",
            "area_model",
            "area_ttl",
            "helpers",
            "runner",
        )
    )
)
