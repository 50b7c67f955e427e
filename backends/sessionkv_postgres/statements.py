"""The SQL of every operation, one statement each, built once per table.

Every expiry is computed and compared on the server (``now()``: the statement's transaction start, which
for these single-statement transactions is when the server began it), never with this machine's clock.
Versions come from the table's sequence (``nextval``), so they differ across every write of a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from .schema import quoted, sequence_name


@dataclass(frozen=True)
class Statements:
    """The statements of one table; parameters are documented on each."""

    get: str
    mget: str
    set: str
    set_if_exists: str
    mset: str
    expire: str
    touch: str
    delete: str
    keys: str
    items: str
    add: str
    get_versioned: str
    cas: str
    delete_if: str
    sweep: str

    @classmethod
    def of(cls, schema: str, table: str) -> Statements:
        t = quoted(schema, table)
        version = f"nextval('{quoted(schema, sequence_name(table))}')"
        expiry = "now() + {} * interval '1 second'"
        upsert = (
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, "
            "version = EXCLUDED.version"
        )
        return cls(
            # $1 key
            get=f"SELECT value FROM {t} WHERE key = $1 AND expires_at > now()",
            # $1 keys[] -> (key, value) of the live ones
            mget=f"SELECT key, value FROM {t} WHERE key = ANY($1::text[]) AND expires_at > now()",
            # $1 key, $2 value, $3 ttl seconds
            set=f"INSERT INTO {t} (key, value, expires_at, version) "
            f"VALUES ($1, $2, {expiry.format('$3::float8')}, {version}) {upsert}",
            set_if_exists=f"UPDATE {t} SET value = $2, expires_at = {expiry.format('$3::float8')}, version = {version} "
            "WHERE key = $1 AND expires_at > now()",
            # $1 keys[], $2 values[], $3 ttls[] (distinct keys, sorted: rows are locked in one order)
            mset=f"INSERT INTO {t} (key, value, expires_at, version) "
            f"SELECT k, v, {expiry.format('s')}, {version} FROM unnest($1::text[], $2::bytea[], $3::float8[]) "
            f"AS u(k, v, s) {upsert}",
            # $1 keys[], $2 ttl seconds (the version is kept: only the expiry changes)
            expire=f"UPDATE {t} SET expires_at = {expiry.format('$2::float8')} "
            "WHERE key = ANY($1::text[]) AND expires_at > now()",
            touch=f"UPDATE {t} SET expires_at = {expiry.format('$2::float8')} "
            "WHERE key = ANY($1::text[]) AND expires_at > now() RETURNING key",
            # $1 keys[]
            delete=f"DELETE FROM {t} WHERE key = ANY($1::text[])",
            # $1 first key, $2 the key after the range (every row of the range is examined: expired ones too)
            keys=f"SELECT key, expires_at > now() AS live FROM {t} WHERE key >= $1 AND key < $2",
            # $1, $2 as keys -> (key, value) of every row in range; the value NULL for an expired one
            items=f"SELECT key, CASE WHEN expires_at > now() THEN value END FROM {t} WHERE key >= $1 AND key < $2",
            # $1 key, $2 value, $3 ttl -> the new version, or no row when a live key is there
            add=f"INSERT INTO {t} AS cur (key, value, expires_at, version) "
            f"VALUES ($1, $2, {expiry.format('$3::float8')}, {version}) {upsert} "
            "WHERE cur.expires_at <= now() RETURNING version",
            get_versioned=f"SELECT value, version FROM {t} WHERE key = $1 AND expires_at > now()",
            # $1 key, $2 value, $3 ttl, $4 expected version -> the new version, or no row
            cas=f"UPDATE {t} SET value = $2, expires_at = {expiry.format('$3::float8')}, version = {version} "
            "WHERE key = $1 AND version = $4 AND expires_at > now() RETURNING version",
            # $1 key, $2 expected version -> a row when deleted
            delete_if=f"DELETE FROM {t} WHERE key = $1 AND version = $2 AND expires_at > now() RETURNING 1",
            # $1 batch size -> how many expired rows were deleted (rows another sweep holds are skipped). The
            # batch is locked once, in a materialized CTE, then joined by key: as `key IN (subquery)` a generic
            # plan ran the locking subquery again for every row (3,400 expired rows: 0.8 s and the whole table
            # deleted, not one batch; a CI soak's sweeps never finished), while this takes 4 ms per batch
            sweep=f"WITH doomed AS MATERIALIZED (SELECT key FROM {t} WHERE expires_at <= now() ORDER BY expires_at "
            f"LIMIT $1 FOR UPDATE SKIP LOCKED), gone AS (DELETE FROM {t} AS expired USING doomed "
            "WHERE expired.key = doomed.key AND expired.expires_at <= now() RETURNING 1) SELECT count(*) FROM gone",
        )
