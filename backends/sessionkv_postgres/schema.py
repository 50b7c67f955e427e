"""The table sessionkv needs on PostgreSQL, for migrations, and the check that an existing table matches it.

``python -m sessionkv_postgres.schema [--schema S] [--table T] [--unlogged]`` prints the DDL. Imports no
database library, so it runs wherever sessionkv is installed.

Layout: one row per key. ``key`` is the namespace plus the key (``\\0`` and ``\\1`` escaped: text cannot
hold NUL), ``COLLATE "C"`` so the primary key orders by bytes and a prefix is one index range; ``value``
bytea; ``expires_at`` timestamptz set from the server's clock; ``version`` bigint from the table's own
sequence, new on every write, so two stores on one table compare the same versions. The index on
``expires_at`` serves the background sweep of expired rows.
"""

from __future__ import annotations

import argparse

from sessionkv import ConfigurationError

from .config import IDENTIFIER

#: The columns sessionkv reads and writes: name -> (type as ``format_type`` shows it, collation or None).
COLUMNS: dict[str, tuple[str, str | None]] = {
    "key": ("text", "C"),
    "value": ("bytea", None),
    "expires_at": ("timestamp with time zone", None),
    "version": ("bigint", None),
}


def quoted(schema: str, name: str) -> str:
    """``"schema"."name"`` for checked identifiers."""
    for part in (schema, name):
        if not IDENTIFIER.match(part):
            raise ConfigurationError(
                f"invalid PostgreSQL identifier {part!r}: use a letter or '_', then letters, digits or '_' (at most 63)"
            )
    return f'"{schema}"."{name}"'


def sequence_name(table: str) -> str:
    """The sequence handing out versions (``<table>_version``; truncated to fit 63 bytes)."""
    return f"{table[:55]}_version"


def ddl(schema: str = "public", table: str = "sessionkv", *, unlogged: bool = False) -> list[str]:
    """The statements creating the table, its version sequence and its expiry index (idempotent)."""
    qualified = quoted(schema, table)
    sequence = quoted(schema, sequence_name(table))
    kind = "UNLOGGED TABLE" if unlogged else "TABLE"
    return [
        f"CREATE SEQUENCE IF NOT EXISTS {sequence} AS bigint",
        f"CREATE {kind} IF NOT EXISTS {qualified} (\n"
        '    key text COLLATE "C" PRIMARY KEY,\n'
        "    value bytea NOT NULL,\n"
        "    expires_at timestamptz NOT NULL,\n"
        f"    version bigint NOT NULL DEFAULT nextval('{sequence}')\n"
        ")",
        f'CREATE INDEX IF NOT EXISTS "{table[:50]}_expires_at" ON {qualified} (expires_at)',
    ]


#: Reads what the table looks like: its columns (type, collation, not null) and whether ``key`` is the primary key.
DESCRIBE = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), coll.collname, a.attnotnull,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary
               AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum) AS is_pk
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_collation coll ON coll.oid = a.attcollation
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
"""
SCHEMA_EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)"
SEQUENCE_EXISTS = """
SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'S')
"""


def table_problem(rows: list[tuple[str, str, str | None, bool, bool]]) -> str | None:
    """What is wrong with the columns ``DESCRIBE`` returned for sessionkv, or ``None`` if they match."""
    found = {name: (kind, collation, not_null, is_pk) for name, kind, collation, not_null, is_pk in rows}
    problems = []
    for name, (kind, collation) in COLUMNS.items():
        if name not in found:
            problems.append(f"no column {name}")
            continue
        got_kind, got_collation, not_null, is_pk = found[name]
        if got_kind != kind:
            problems.append(f"{name} is {got_kind}, not {kind}")
        elif collation is not None and got_collation != collation:
            problems.append(f'{name} has collation {got_collation or "default"}, not "{collation}"')
        elif not not_null and not is_pk:
            problems.append(f"{name} allows NULL")
    if "key" in found and not found["key"][3]:
        problems.append("key is not the primary key")
    return "; ".join(problems) or None


def main(argv: list[str] | None = None) -> None:
    """Print the DDL of the table (for a migration tool or ``psql``)."""
    parser = argparse.ArgumentParser(
        prog="python -m sessionkv_postgres.schema", description="Print the PostgreSQL DDL of sessionkv's table."
    )
    parser.add_argument("--schema", default="public", help="schema of the table (default: public)")
    parser.add_argument("--table", default="sessionkv", help="table name (default: sessionkv)")
    parser.add_argument("--unlogged", action="store_true", help="an UNLOGGED table (lost on a crash, faster)")
    args = parser.parse_args(argv)
    try:
        statements = ddl(args.schema, args.table, unlogged=args.unlogged)
    except ConfigurationError as exc:
        parser.error(str(exc))
    print(";\n\n".join(statements) + ";")


if __name__ == "__main__":
    main()
