"""The table sessionkv needs, for infrastructure as code, and the check that an existing table matches it.

``python -m sessionkv_dynamodb.table TABLE`` prints a CloudFormation template (JSON) declaring it;
``--format create-table`` prints the input of ``aws dynamodb create-table --cli-input-json``.
Imports no AWS library, so it runs wherever sessionkv is installed.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from sessionkv import ConfigurationError
from sessionkv.cli.output import reader_may_leave

from .layout import PK, SK, TTL

#: DynamoDB table names: 3 to 255 letters, digits, ``_``, ``-`` and ``.``.
TABLE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{3,255}$")
KEY_SCHEMA = [{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}]
ATTRIBUTE_DEFINITIONS = [{"AttributeName": PK, "AttributeType": "S"}, {"AttributeName": SK, "AttributeType": "S"}]


def check_table_name(name: str) -> str:
    """Return ``name`` if DynamoDB accepts it as a table name, else raise ``ConfigurationError``."""
    if not TABLE_NAME.match(name):
        raise ConfigurationError(f"invalid DynamoDB table name {name!r}: use 3 to 255 letters, digits, '_', '-' or '.'")
    return name


def create_table_request(name: str) -> dict[str, Any]:
    """The ``CreateTable`` parameters of the table (on-demand billing; TTL is enabled by a separate call)."""
    return {
        "TableName": check_table_name(name),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [dict(a) for a in ATTRIBUTE_DEFINITIONS],
        "KeySchema": [dict(k) for k in KEY_SCHEMA],
    }


def table_definition(name: str) -> dict[str, Any]:
    """The table as a CloudFormation ``AWS::DynamoDB::Table`` resource, TTL on the ``ttl`` attribute."""
    properties = create_table_request(name)
    properties["TimeToLiveSpecification"] = {"AttributeName": TTL, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "Properties": properties}


def cloudformation_template(name: str) -> dict[str, Any]:
    """A complete CloudFormation template holding only the table."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "sessionkv session store (pk/sk strings, on-demand, TTL on 'ttl')",
        "Resources": {"SessionKVTable": table_definition(name)},
    }


def schema_problem(description: dict[str, Any]) -> str | None:
    """What is wrong with a ``DescribeTable`` ``Table`` for sessionkv, or ``None`` if its keys match."""
    keys = {k["AttributeName"]: k["KeyType"] for k in description.get("KeySchema", [])}
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
    want = {PK: "HASH", SK: "RANGE"}
    if keys != want or types.get(PK) != "S" or types.get(SK) != "S":
        found = ", ".join(f"{name} {kind} {types.get(name, '?')}" for name, kind in keys.items()) or "none"
        return f"its key schema is ({found}); sessionkv needs (pk HASH S, sk RANGE S)"
    return None


def main(argv: list[str] | None = None) -> None:
    """Print the table definition (CloudFormation by default) for TABLE."""
    parser = argparse.ArgumentParser(
        prog="python -m sessionkv_dynamodb.table", description="Print the DynamoDB table sessionkv needs."
    )
    parser.add_argument("table", help="table name")
    parser.add_argument(
        "--format",
        choices=("cloudformation", "create-table"),
        default="cloudformation",
        help="a CloudFormation template, or input for `aws dynamodb create-table --cli-input-json`",
    )
    args = parser.parse_args(argv)
    try:
        build = cloudformation_template if args.format == "cloudformation" else create_table_request
        document = build(args.table)
    except ConfigurationError as exc:
        parser.error(str(exc))
    with reader_may_leave():  # `... | head` ends quietly (exit 141), not in a BrokenPipeError traceback
        print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
