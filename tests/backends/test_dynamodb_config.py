"""dynamodb:// without a server: URL and option checks, the key layout's guarantees, the table definition CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkv import ConfigurationError, StoreURL, list_backends, open_store
from sessionkv_dynamodb.config import DynamoDBConfig
from sessionkv_dynamodb.layout import (
    PK_LIMIT,
    SK_LIMIT,
    build_item,
    item_size,
    partition_key,
    primary_key,
    sort_key,
    sort_prefix,
    top_directory,
    utf8_len,
)
from sessionkv_dynamodb.store import DynamoDBStore
from sessionkv_dynamodb.table import cloudformation_template, create_table_request, schema_problem


def config(url: str, **overrides: object) -> DynamoDBConfig:
    return DynamoDBConfig.from_url(StoreURL.parse(url), dict(overrides))


def test_url_options_are_typed() -> None:
    cfg = config(
        "dynamodb://my.table_1?region=eu-west-1&endpoint_url=http://localhost:8000&create_table=yes"
        "&connect_timeout=0.5&read_timeout=2&retries=0&concurrency=4&namespace=app:",
        profile="dev",
    )
    assert (cfg.table, cfg.region, cfg.endpoint_url, cfg.profile) == (
        "my.table_1",
        "eu-west-1",
        "http://localhost:8000",
        "dev",
    )
    assert (cfg.create_table, cfg.connect_timeout, cfg.read_timeout, cfg.retries, cfg.concurrency) == (
        True,
        0.5,
        2.0,
        0,
        4,
    )
    assert cfg.namespace == "app:"
    defaults = config("dynamodb://sessions")
    assert (defaults.create_table, defaults.region, defaults.retries) == (False, None, 3)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("dynamodb://key:secret@sessions", "take no credentials"),
        ("dynamodb://sessions:8000", "endpoint goes in endpoint_url"),
        ("dynamodb://sessions/extra", "expected dynamodb://TABLE"),
        ("dynamodb://", "expected dynamodb://TABLE"),
        ("dynamodb://ab", "invalid DynamoDB table name"),
        ("dynamodb://bad*name", "invalid DynamoDB table name"),
        ("dynamodb://sessions?endpoint_url=localhost:8000", "http:// or https://"),
        ("dynamodb://sessions?retries=-1", "retries"),
        ("dynamodb://sessions?read_timeout=0", "read_timeout"),
        ("dynamodb://sessions?region=", "region is empty"),
        ("dynamodb://sessions?password=x", "unknown option"),
    ],
)
def test_bad_urls_are_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        open_store(url)
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


def test_store_from_a_table_name_and_keywords() -> None:
    store = DynamoDBStore("sessions", region="eu-west-1", namespace="x:")
    assert store.table == "sessions" and store.namespace == "x:" and store.config.region == "eu-west-1"
    assert "sessions" in repr(store) and not store.started
    with pytest.raises(ConfigurationError, match="endpoint_url"):
        DynamoDBStore("sessions", endpoint_url="ftp://x")
    with pytest.raises(ConfigurationError, match="namespace is over"):
        DynamoDBStore("sessions", namespace="n" * 1025 + ":")


def test_backend_is_listed_as_ready() -> None:
    status = {s.scheme: s for s in list_backends()}["dynamodb"]
    assert status.ready and status.installed and status.error is None


def test_plugin_and_package_do_not_import_the_client_library() -> None:
    code = (
        "import sys, sessionkv_dynamodb, sessionkv_dynamodb.plugin, sessionkv_dynamodb.table; "
        "print('aioboto3' in sys.modules or 'aiobotocore' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


keys = st.text(st.characters(codec="utf-8"), min_size=1, max_size=700)


@given(keys, keys)
def test_layout_is_one_to_one_and_within_dynamodb_limits(a: str, b: str) -> None:
    for key in (a, a * 3, b):
        pk = primary_key("ns:", key)
        assert 0 < utf8_len(str(pk["pk"]["S"])) <= PK_LIMIT and 0 < utf8_len(str(pk["sk"]["S"])) <= SK_LIMIT
    if a != b:
        assert primary_key("ns:", a) != primary_key("ns:", b)
        assert primary_key("ns:", a * 3) != primary_key("ns:", b * 3)


@given(keys, keys)
def test_prefix_queries_find_every_key_below_the_prefix(prefix: str, rest: str) -> None:
    key = (prefix + rest) * 2  # long enough, often, for a truncated and hashed sort key
    if "/" in prefix:
        assert partition_key("ns:", top_directory(prefix)) == partition_key("ns:", top_directory(key))
    assert sort_key(key)[0].startswith(sort_prefix(prefix))


def test_namespace_tags_never_prefix_each_other() -> None:
    assert not partition_key("ab:", "")[0].startswith(partition_key("a", "")[0])
    assert partition_key("10:x", "")[0] != partition_key("1", "0:x")[0]


def test_item_size_counts_names_and_values() -> None:
    item = build_item("n:", "s/k", b"12345", 100.0)
    assert item_size(item) == 2 + len("3:n:s/") + 2 + 3 + 1 + 5 + 3 + 21 + 3 + 21 + 3 + 16
    with pytest.raises(ValueError, match="DynamoDB item"):
        build_item("n:", "k", b"x" * 400 * 1024, 100.0)


def test_schema_problem_names_what_is_wrong() -> None:
    good = {
        "KeySchema": create_table_request("t12")["KeySchema"],
        "AttributeDefinitions": create_table_request("t12")["AttributeDefinitions"],
    }
    assert schema_problem(good) is None
    numeric = {
        **good,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "N"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    }
    assert "pk HASH N" in (schema_problem(numeric) or "")
    assert "none" in (schema_problem({}) or "")


def test_table_cli_prints_cloudformation_and_create_table_json() -> None:
    run = [sys.executable, "-m", "sessionkv_dynamodb.table"]
    done = subprocess.run([*run, "sessions"], capture_output=True, text=True, check=True)
    template = json.loads(done.stdout)
    assert template == cloudformation_template("sessions")
    table = template["Resources"]["SessionKVTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    done = subprocess.run([*run, "sessions", "--format", "create-table"], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == create_table_request("sessions")
    bad = subprocess.run([*run, "no"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "invalid DynamoDB table name" in bad.stderr
