"""PostgresStore beyond the conformance suite: URLs and options, one-line configuration errors, the DDL, costs
proven by counting statements and rows (one round trip per operation, listings read their range only), expiry
on the server's clock, the expiry sweep's footprint, atomic mset, and NUL in keys."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st

from servers.footprint import postgres_connection, postgres_counts
from servers.ladder import Endpoint
from sessionkv import ConfigurationError, StoreNotStartedError, open_store
from sessionkv_postgres.keyspace import escape, prefix_end, unescape
from sessionkv_postgres.schema import ddl
from sessionkv_postgres.store import PostgresStore

SECRET = "pw-Planted-s3cret"


def namespace() -> str:
    return f"t-{uuid.uuid4().hex[:12]}:"


def with_options(url: str, **options: str) -> str:
    query = "&".join(f"{name}={value}" for name, value in options.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest_asyncio.fixture
async def store(postgres_server: Endpoint) -> AsyncIterator[PostgresStore]:
    async with PostgresStore(postgres_server.url, namespace=namespace()) as opened:
        yield opened
        await opened.delete(await opened.keys("") or ["-"])


async def raw(endpoint: Endpoint) -> asyncpg.Connection:
    conn: asyncpg.Connection = await postgres_connection(endpoint.url)
    return conn


# -- URLs and options ------------------------------------------------------------------------------


def test_both_schemes_open_the_store_with_documented_defaults() -> None:
    for scheme in ("postgresql", "postgres"):
        opened = open_store(f"{scheme}://app:{SECRET}@db.example:6543/sessions")
        assert isinstance(opened, PostgresStore)
        config = opened.config
        assert (config.table, config.schema, config.create_table, config.unlogged) == (
            "sessionkv",
            "public",
            False,
            False,
        )
        assert (config.pool_min_size, config.pool_max_size, config.statement_cache_size) == (1, 10, 100)
        assert config.dsn == "postgresql://app@db.example:6543/sessions"
        assert SECRET not in repr(opened) + str(config) + repr(config) + config.dsn


def test_options_from_the_query_and_libpq_tls_options_go_to_the_dsn(tmp_path: object) -> None:
    url = (
        "postgresql://u@h/db?table=kv&schema=app&create_table=true&unlogged=yes&pool_min_size=0&pool_max_size=3"
        "&command_timeout=1.5&connect_timeout=2&statement_cache_size=0&sslmode=require"
    )
    config = open_store(url).config
    assert (config.table, config.schema, config.create_table, config.unlogged) == ("kv", "app", True, True)
    assert (config.pool_min_size, config.pool_max_size, config.statement_cache_size) == (0, 3, 0)
    assert (config.command_timeout, config.connect_timeout) == (1.5, 2.0)
    assert config.dsn == "postgresql://u@h:5432/db?sslmode=require"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://h", "DBNAME"),
        ("postgresql://h/db?table=bad-name", "table"),
        ("postgresql://h/db?schema=1x", "schema"),
        ("postgresql://h/db?sslmode=sometimes", "sslmode"),
        ("postgresql://h/db?sslcert=/etc/hostname", "sslcert and sslkey go together"),
        ("postgresql://h/db?sslrootcert=/no/such/ca.pem", "no such file"),
        ("postgresql://h/db?statement_cache_size=-1", "statement_cache_size"),
        ("postgresql://h/db?pool_min_size=5&pool_max_size=2", "pool_min_size"),
        ("postgresql://h/db?colour=blue", "unknown option"),
    ],
)
def test_bad_urls_and_options_are_one_line_configuration_errors(url: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        open_store(url.replace("://", f"://u:{SECRET}@"))
    message = str(info.value)
    assert says in message and "\n" not in message and SECRET not in message


def test_schema_module_prints_the_ddl() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sessionkv_postgres.schema", "--schema", "app", "--table", "kv", "--unlogged"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert 'CREATE UNLOGGED TABLE IF NOT EXISTS "app"."kv"' in done.stdout
    assert 'key text COLLATE "C" PRIMARY KEY' in done.stdout and "nextval" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "sessionkv_postgres.schema", "--table", "no;drop"], capture_output=True)
    assert bad.returncode != 0


# -- configuration errors against the server ---------------------------------------------------


async def start_error(url: str) -> str:
    opened = open_store(url)
    with pytest.raises(ConfigurationError) as info:
        await opened.start()
    assert not opened.started
    message = str(info.value)
    assert "\n" not in message and SECRET not in message, message
    return message


@pytest.mark.asyncio
async def test_missing_table_wrong_table_missing_schema_and_bad_login_are_one_line_each(
    postgres_server: Endpoint,
) -> None:
    base = postgres_server.url.split("?")[0]
    message = await start_error(f"{base}?table=nothing_here_{uuid.uuid4().hex[:6]}")
    assert "does not exist" in message and "python -m sessionkv_postgres.schema" in message
    assert "schema 'nope' does not exist" in await start_error(f"{base}?schema=nope&create_table=true")
    conn = await raw(postgres_server)
    wrong = f"wrong_{uuid.uuid4().hex[:6]}"
    try:
        await conn.execute(f"CREATE TABLE {wrong} (key text PRIMARY KEY, value text)")
        message = await start_error(f"{base}?table={wrong}")
        assert "cannot hold sessionkv keys" in message and 'collation default, not "C"' in message
    finally:
        await conn.execute(f"DROP TABLE {wrong}")
        await conn.close()
    host = base.split("@", 1)[1]
    assert "refused" in await start_error(f"postgresql://nobody:{SECRET}@{host}")
    assert "refused" in await start_error(f"postgresql://postgres:{SECRET}@{host.rsplit('/', 1)[0]}/no_such_db")


@pytest.mark.asyncio
async def test_create_table_makes_an_unlogged_table_from_the_ddl(postgres_server: Endpoint) -> None:
    table = f"u_{uuid.uuid4().hex[:8]}"
    url = with_options(postgres_server.url.split("?")[0], table=table, create_table="true", unlogged="true")
    conn = await raw(postgres_server)
    try:
        async with open_store(url) as opened:
            await opened.set("k", b"v", 60)
            assert await opened.get("k") == b"v"
        assert await conn.fetchval("SELECT relpersistence FROM pg_class WHERE relname = $1", table) == b"u"
        async with open_store(url) as again:  # an existing table is accepted as it is
            assert await again.get("k") == b"v"
    finally:
        await conn.execute(f'DROP TABLE "{table}"; DROP SEQUENCE "{table}_version"')
        await conn.close()


@pytest.mark.asyncio
async def test_a_store_that_is_not_started_says_so(postgres_server: Endpoint) -> None:
    with pytest.raises(StoreNotStartedError):
        await PostgresStore(postgres_server.url).get("k")


# -- costs, counted ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_every_operation_is_one_round_trip_whatever_the_batch(postgres_server: Endpoint) -> None:
    # no background sweep during the count: the test server's sweeps every second, and a sweep is a round trip
    # of this store too (a loaded CI run counted one inside `keys`)
    async with PostgresStore(postgres_server.url, namespace=namespace(), sweep_interval=3600) as store:
        await each_operation_is_one_round_trip(store)
        await store.delete(await store.keys("") or ["-"])


async def each_operation_is_one_round_trip(store: PostgresStore) -> None:
    items = [(f"b/{i}", b"v", 60.0) for i in range(1000)]
    keys = [key for key, _, _ in items]
    calls = [
        ("set", store.set("a", b"v", 60)),
        ("set only_if_exists", store.set("a", b"w", 60, only_if_exists=True)),
        ("mset 1000", store.mset(items)),
        ("get", store.get("a")),
        ("mget 1000", store.mget(keys)),
        ("expire 1000", store.expire(*keys, ttl=60)),
        ("touch 1000", store.touch([*keys, "missing"], 60)),
        ("keys", store.keys("b/")),
        ("items", store.items("b/")),
        ("add", store.add("n", b"v", 60)),
        ("get_versioned", store.get_versioned("n")),
        ("delete 1000", store.delete(keys)),
    ]
    for what, call in calls:
        before = store.round_trips
        await call
        assert store.round_trips - before == 1, what


@pytest.mark.asyncio
async def test_a_call_sends_one_query_on_the_wire_no_reset_between_borrowers(postgres_server: Endpoint) -> None:
    """asyncpg's pool sends a reset query whenever a connection goes back: counted here on the connection itself."""
    async with PostgresStore(postgres_server.url, namespace=namespace(), pool_min_size=1, pool_max_size=1) as one:
        sent: list[str] = []
        async with one.pool.acquire() as conn:
            conn.add_query_logger(lambda logged: sent.append(logged.query))
        for call in (one.set("a", b"v", 60), one.get("a"), one.mget(["a", "b"]), one.keys(""), one.delete(["a"])):
            before = len(sent)
            await call
            assert len(sent) - before == 1, sent[before:]
        assert not any("RESET" in query or "UNLISTEN" in query for query in sent), sent


@pytest.mark.asyncio
async def test_a_listing_examines_its_range_only(store: PostgresStore) -> None:
    await store.mset([(f"other/{i}", b"v", 60) for i in range(300)] + [(f"dir/{i}", b"v", 60) for i in range(5)])
    await store.set("dir/expired", b"v", 0.01)
    await asyncio.sleep(0.05)
    before = store.keys_examined
    assert sorted(await store.keys("dir/")) == [f"dir/{i}" for i in range(5)]
    assert store.keys_examined - before == 6, "the range holds 5 live rows and an expired one, nothing else"


@pytest.mark.asyncio
async def test_only_if_exists_expire_and_touch_never_create_a_row(
    store: PostgresStore, postgres_server: Endpoint
) -> None:
    await store.set("gone", b"v", 0.01, only_if_exists=True)
    await store.expire("gone", ttl=60)
    assert await store.touch(["gone"], 60) == ["gone"]
    assert (await postgres_counts(postgres_server.url, store.namespace))["total"] == 0


# -- expiry on the server's clock, and the sweep -------------------------------------------------


@pytest.mark.asyncio
async def test_expiry_follows_the_servers_clock_not_this_machines(
    store: PostgresStore, postgres_server: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.set("k", b"v", 60)
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000.0)  # this machine thinks it is 2096
    assert await store.get("k") == b"v"
    conn = await raw(postgres_server)
    try:  # the server's view decides: a row whose expiry passed on the server is gone
        await conn.execute(
            "UPDATE sessionkv SET expires_at = now() - interval '1 ms' WHERE key = $1", store.namespace + "k"
        )
    finally:
        await conn.close()
    assert await store.get("k") is None and await store.touch(["k"], 60) == ["k"]


@pytest.mark.asyncio
async def test_the_sweep_deletes_expired_rows_in_batches_and_keeps_live_ones(postgres_server: Endpoint) -> None:
    url = with_options(postgres_server.url, sweep_batch="7")
    async with open_store(url, namespace=namespace()) as swept:
        assert isinstance(swept, PostgresStore)
        await swept.mset([(f"short/{i}", b"v", 0.01) for i in range(20)] + [("live", b"v", 60)])
        await asyncio.sleep(0.05)
        assert (await postgres_counts(url, swept.namespace))["total"] == 21
        before = swept.round_trips
        deleted = await swept.sweep()
        assert deleted >= 20 and swept.round_trips - before >= 3, "20 rows in batches of 7: at least 3 statements"
        assert (await postgres_counts(url, swept.namespace))["total"] == 1
        assert await swept.keys("") == ["live"]
        await swept.delete(["live"])


@pytest.mark.asyncio
async def test_one_sweep_drains_a_backlog_of_any_size(postgres_server: Endpoint) -> None:
    # a sweep that stopped after a fixed number of statements left a backlog growing with the write rate:
    # a 1M-key soak kept 980,050 expired rows after the ttl with a sweep every second
    url = with_options(postgres_server.url.split("?")[0], create_table="true", sweep_batch="3", sweep_interval="3600")
    async with open_store(url, namespace=namespace()) as swept:
        assert isinstance(swept, PostgresStore)
        await swept.mset([(f"short/{i}", b"v", 0.01) for i in range(100)] + [("live", b"v", 60)])
        await asyncio.sleep(0.05)
        before = swept.round_trips
        assert await swept.sweep() >= 100
        assert swept.round_trips - before >= 34, "100 rows in statements of 3"
        assert swept.sweeps == 1 and swept.swept >= 100  # counted for operators (sweep_interval=3600: no other)
        assert (await postgres_counts(url, swept.namespace))["total"] == 1
        await swept.delete(["live"])


@pytest.mark.asyncio
async def test_a_sweep_statement_deletes_one_batch_under_a_generic_plan_and_stale_statistics(
    postgres_server: Endpoint,
) -> None:
    """The plan a churned table gets: statistics from when it was empty, and the generic plan of a statement
    prepared five times. ``key IN (locking subquery)`` then ran the subquery again for every row: one statement
    deleted all 3,400 expired rows, not a batch of 1,000, and took time quadratic in the table (a CI soak's
    sweeps never finished). Counted here in statements: 1,000 + 1,000 + 1,000 + 400."""
    admin = await raw(postgres_server)
    database = f"generic_{uuid.uuid4().hex[:8]}"
    try:
        await admin.execute(f"CREATE DATABASE {database}")
        await admin.execute(f"ALTER DATABASE {database} SET plan_cache_mode = force_generic_plan")
        base = postgres_server.url.split("?")[0].rsplit("/", 1)[0]
        url = f"{base}/{database}?create_table=true&sweep_batch=1000&sweep_interval=3600"
        async with open_store(url, namespace=namespace()) as swept:
            assert isinstance(swept, PostgresStore)
            conn = await asyncpg.connect(swept.config.dsn)
            try:
                await conn.execute(f"ANALYZE {swept.config.qualified_table}")  # statistics of the empty table
            finally:
                await conn.close()
            await swept.sweep()
            await swept.mset([(f"short/{i}", b"v", 0.01) for i in range(3400)] + [("live", b"v", 60)])
            await asyncio.sleep(0.05)
            before = swept.round_trips
            assert await swept.sweep() == 3400
            assert swept.round_trips - before == 4
            assert await swept.keys("") == ["live"]
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        await admin.close()


@pytest.mark.asyncio
async def test_closing_a_store_sweeps_the_rows_expired_since_the_last_sweep(postgres_server: Endpoint) -> None:
    # no background sweep meanwhile
    url = with_options(postgres_server.url.split("?")[0], create_table="true", sweep_interval="3600")
    closing = open_store(url, namespace=namespace())
    async with closing:
        await closing.mset([(f"k{i}", b"v", 0.01) for i in range(3)])
        await asyncio.sleep(0.05)
        assert await closing.keys("") == [] and (await postgres_counts(url, closing.namespace))["total"] == 3
    assert (await postgres_counts(url, closing.namespace))["total"] == 0


@pytest.mark.asyncio
async def test_the_background_sweep_removes_rows_without_being_asked(postgres_server: Endpoint) -> None:
    url = with_options(postgres_server.url.split("?")[0], create_table="true", sweep_interval="0.2")
    async with open_store(url, namespace=namespace()) as swept:
        await swept.mset([(f"k{i}", b"v", 0.05) for i in range(10)])
        for _ in range(50):
            if (await postgres_counts(url, swept.namespace))["total"] == 0:
                break
            await asyncio.sleep(0.1)
        assert (await postgres_counts(url, swept.namespace))["total"] == 0


# -- atomic mset, versions across stores, odd keys ---------------------------------------------------


@pytest.mark.asyncio
async def test_mset_is_atomic_readers_see_all_of_a_batch_or_none(
    store: PostgresStore, postgres_server: Endpoint
) -> None:
    keys = [f"a/{i}" for i in range(500)]
    seen: set[int] = set()
    async with PostgresStore(postgres_server.url, namespace=store.namespace) as reader:
        writing = asyncio.ensure_future(store.mset([(key, b"x", 60) for key in keys]))
        while not writing.done():
            seen.add(sum(value is not None for value in await reader.mget(keys)))
        await writing
        seen.add(sum(value is not None for value in await reader.mget(keys)))
    assert seen <= {0, 500} and 500 in seen, seen


@pytest.mark.asyncio
async def test_versions_compare_across_two_stores_on_one_table(store: PostgresStore, postgres_server: Endpoint) -> None:
    async with PostgresStore(postgres_server.url, namespace=store.namespace) as other:
        first = await store.cas("k", b"1", 60, version=None)
        seen = await other.get_versioned("k")
        assert seen is not None and seen.version == first
        second = await other.cas("k", b"2", 60, version=seen.version)
        assert isinstance(first, int) and isinstance(second, int) and second > first
        assert await store.cas("k", b"3", 60, version=first) is None, "a stale version must lose"
        await store.expire("k", ttl=120)
        kept = await store.get_versioned("k")
        assert kept is not None and kept.version == second, "expire keeps the version"
        assert await store.delete_if("k", second) is True and await other.get("k") is None
        assert await store.cas("k", b"x", 60, version=True) is None and await store.delete_if("k", "1") is False


@pytest.mark.asyncio
async def test_nul_and_escape_characters_in_keys_round_trip_and_list_by_prefix(store: PostgresStore) -> None:
    keys = ["a\x00b", "a\x01b", "a\x01\x01", "a\x00", "ab", "\x00"]
    await store.mset([(key, key.encode(), 60) for key in keys])
    assert await store.mget(keys) == [key.encode() for key in keys]
    assert sorted(await store.keys("a\x00")) == ["a\x00", "a\x00b"]
    assert sorted(await store.keys("a\x01")) == ["a\x01\x01", "a\x01b"]
    assert sorted(await store.keys("")) == sorted(keys)


@given(st.text(), st.text())
def test_escaping_keeps_keys_apart_and_prefixes_exact(key: str, prefix: str) -> None:
    assert unescape(escape(key)) == key
    assert "\x00" not in escape(key)
    assert escape(key).startswith(escape(prefix)) == key.startswith(prefix)
    end = prefix_end(escape(prefix))
    inside = escape(prefix) <= escape(key) and (end is None or escape(key) < end)
    assert inside == key.startswith(prefix)


def test_ddl_quotes_the_names_it_is_given() -> None:
    assert all('"s"."t' in statement or '"t_expires_at"' in statement for statement in ddl("s", "t"))
    with pytest.raises(ConfigurationError):
        ddl('x"; DROP TABLE y; --', "t")
