"""dynamodb:// is certified: the whole conformance suite against moto's DynamoDB server (or SESSIONKV_DYNAMODB_URL)."""

from __future__ import annotations

import pytest

from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_dynamodb.store import DynamoDBStore


class TestDynamoDBConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, dynamodb_table_url: str) -> StoreFactory:
        return lambda namespace: DynamoDBStore(dynamodb_table_url, namespace=namespace)
