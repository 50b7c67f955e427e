"""``DynamoDBStore``: sessionkv on one DynamoDB table through aioboto3's low-level async client.

Item layout: see ``sessionkv_dynamodb.layout`` (``pk`` = namespace + top-level directory, or one call's
directory under the registry's ``s/``, ``c/``, ``a/``; ``sk`` = key). ``start()`` refuses a table of another layout.
Expiry is stored twice: ``exp`` (epoch seconds with microseconds) that every read and every
condition filters on, because DynamoDB deletes expired items lazily (up to days late) and
emulators never do, and ``ttl`` (whole seconds, rounded up) for DynamoDB's TTL deletion.
Times come from this machine's clock, so nodes sharing a table need synchronised clocks.

Costs: ``get`` is one strongly consistent GetItem; ``mget`` is BatchGetItem in chunks of 100;
``mset``/``delete`` are BatchWriteItem in chunks of 25; ``set(only_if_exists=True)``, ``expire`` and
``touch`` are one conditional write per key (DynamoDB has no batched conditional update), all
sent concurrently up to ``concurrency`` requests. ``items(prefix)`` is ``keys``' listing reading the
values too (no BatchGetItem). ``keys(prefix)`` is a Query when ``prefix``
determines one partition (every directory does, but ``s/``, ``c/`` and ``a/`` themselves: its key
condition reads only the items under ``prefix``, so ``directory_listing="indexed"``) and a Scan of the whole
table otherwise; ``keys_examined`` adds the ``ScannedCount`` of every page (expired items not yet deleted
included). Throttling, timeouts and 5xx are retried by botocore (standard mode, ``retries``); unprocessed
batch entries are retried here; then ``StoreError``.

Versioned writes: every write stores a fresh random ``ver`` (``layout.new_version``), the version.
``get_versioned`` is one consistent GetItem; ``add``/``cas``/``delete_if`` are one conditional
PutItem/DeleteItem (an expired item counts as absent). A failed condition is an answer (``None``/
``False``), unless botocore retried an attempt that may have been applied: the item then shows our
own new ``ver`` (a success), or the outcome is unknown and the call raises ``StoreError``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any, ClassVar, NoReturn

import aiohttp
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from sessionkv import (
    ConfigurationError,
    Option,
    SessionKVStore,
    StoreCapabilities,
    StoreError,
    StoreNotStartedError,
    StoreURL,
    ValueTooLargeError,
    Version,
    Versioned,
    redact,
    resolve_options,
)

from .batching import Backoff, UnprocessedError, chunks, run_bounded, until_processed
from .config import OPTIONS, SCHEME, DynamoDBConfig
from .layout import (
    EXPIRES,
    FULL_KEY,
    MAX_KEY_SIZE,
    MAX_VALUE_SIZE,
    NAMESPACE,
    PK,
    SK,
    TTL,
    VALUE,
    VERSION,
    VERSION_SIZE,
    Item,
    build_item,
    expiry_numbers,
    listing_partition,
    namespace_tag,
    partition_key,
    primary_key,
    sort_prefix,
    stored_key,
)
from .layout_marker import check_layout
from .retries import retry_log, watch_retries
from .table import create_table_request, schema_problem

log = logging.getLogger(__name__)

#: Errors from the client stack that mean "the service failed", turned into ``StoreError``.
SERVICE_ERRORS = (ClientError, BotoCoreError, aiohttp.ClientError, OSError, asyncio.TimeoutError, UnprocessedError)
#: AWS limits per request.
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
#: How long ``start()`` waits for a table it created (or found being created) to become ACTIVE.
TABLE_ACTIVE_TIMEOUT = 120.0

CAPABILITIES = StoreCapabilities(
    ttl_resolution=0.001,  # exp holds microseconds and every read compares it with the clock
    min_ttl=0.001,
    max_ttl=None,
    max_value_size=MAX_VALUE_SIZE,  # the 400 KB item limit less room for the longest key and attributes
    max_key_size=MAX_KEY_SIZE,
    atomic_mset=False,  # BatchWriteItem applies each put on its own
    # Conditional writes decide on the item's one up-to-date copy and every read is strongly consistent.
    linearizable=True,
    fencing="strict",
    directory_listing="indexed",  # a directory is a Query of the items under it (other prefixes may Scan)
)

#: Every expression names attributes through placeholders (``ttl`` is a DynamoDB reserved word).
NAMES = {
    "#pk": PK,
    "#sk": SK,
    "#v": VALUE,
    "#exp": EXPIRES,
    "#ttl": TTL,
    "#k": FULL_KEY,
    "#ns": NAMESPACE,
    "#ver": VERSION,
}
LIVE = "attribute_exists(#pk) AND #exp > :now"
REFRESH = "SET #exp = :exp, #ttl = :ttl"
#: What reads show as absent: no item, an item without value or expiry (not ours), or an expired one.
ABSENT = "attribute_not_exists(#v) OR attribute_not_exists(#exp) OR #exp <= :now"
#: A live item at version ``:ver``; ``UNVERSIONED`` for items written before versions existed (no ``ver``).
AT_VERSION = "#ver = :ver AND #exp > :now"
AT_NO_VERSION = "attribute_not_exists(#ver) AND attribute_exists(#v) AND #exp > :now"
#: The version ``get_versioned`` gives an item without ``ver`` (written before versions existed).
UNVERSIONED = b""
CONDITION_FAILED = "ConditionalCheckFailedException"


def _names(*placeholders: str) -> dict[str, str]:
    return {p: NAMES[p] for p in placeholders}


def _names_in(expression: str) -> dict[str, str]:
    """The attribute names an expression's ``#placeholders`` stand for (DynamoDB refuses unused ones)."""
    return _names(*dict.fromkeys(re.findall(r"#\w+", expression)))


def _now() -> dict[str, str]:
    return {"N": f"{time.time():.6f}"}


def _live_value(item: Item | None, now: float) -> bytes | None:
    """The value of ``item`` if it has not expired (items written by others without ``v``/``exp`` are missing)."""
    if not item or VALUE not in item or EXPIRES not in item or float(str(item[EXPIRES]["N"])) <= now:
        return None
    value = item[VALUE]["B"]
    return value if isinstance(value, bytes) else None


def _version_condition(version: Version) -> tuple[str, dict[str, Any]] | None:
    """The condition "live and at ``version``" with its values, or ``None`` for a version no item can have."""
    if isinstance(version, bytes) and version == UNVERSIONED:
        return AT_NO_VERSION, {}
    if isinstance(version, bytes) and len(version) == VERSION_SIZE:
        return AT_VERSION, {":ver": {"B": version}}
    return None


def _error_code(exc: BaseException) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


def _refused_item_version(exc: BaseException) -> object:
    """The ``ver`` of the item that failed a condition (``ReturnValuesOnConditionCheckFailure=ALL_OLD``)."""
    item = exc.response.get("Item") if isinstance(exc, ClientError) else None
    return (item or {}).get(VERSION, {}).get("B")


class DynamoDBStore(SessionKVStore):
    """A store on one DynamoDB table (``dynamodb://TABLE?region=...``); many namespaces may share the table.

    ``DynamoDBStore("dynamodb://sessions?region=eu-west-1")`` or ``DynamoDBStore("sessions", region=...)``.
    """

    capabilities = CAPABILITIES
    options: ClassVar[dict[str, Option]] = OPTIONS
    #: the ``ScannedCount`` of every Query/Scan page of this store's listings (set in ``__init__``)
    keys_examined: int
    db_system_name = "aws.dynamodb"  # OpenTelemetry db.system.name (sessionkv.telemetry)

    def __init__(self, table: str | StoreURL, /, *, namespace: str | None = None, **options: Any) -> None:
        if namespace is not None:
            options["namespace"] = namespace
        if isinstance(table, StoreURL) or (isinstance(table, str) and "://" in table):
            url = table if isinstance(table, StoreURL) else StoreURL.parse(table)
            self._config = DynamoDBConfig.from_url(url, options)
        elif isinstance(table, str):
            self._config = DynamoDBConfig.build(table, resolve_options(OPTIONS, {}, options, scheme=SCHEME))
        else:
            raise TypeError(f"DynamoDBStore takes a table name or a dynamodb:// URL, not {type(table).__name__}")
        self.namespace = self._config.namespace
        self._tag = namespace_tag(self.namespace)
        self._context: Any = None
        self._client: Any = None
        self.keys_examined = 0
        #: Retry schedule for unprocessed batch entries (tests shorten it).
        self.batch_backoff = Backoff()

    @classmethod
    def from_url(cls, url: StoreURL, **overrides: Any) -> DynamoDBStore:
        return cls(url, **overrides)

    @property
    def config(self) -> DynamoDBConfig:
        """The checked configuration (table, region, endpoint, timeouts...)."""
        return self._config

    @property
    def table(self) -> str:
        return self._config.table

    @property
    def client(self) -> Any:
        """The aiobotocore DynamoDB client; raises ``StoreNotStartedError`` before ``start()``/after ``close()``."""
        if self._client is None:
            raise StoreNotStartedError(f"{self!r} is not started: use `async with store:` or `await store.start()`")
        return self._client

    # -- lifecycle -------------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._client is not None:
            return
        config = self._config
        try:
            context = config.client_context(config.build_session())
            client = await context.__aenter__()
        except ProfileNotFound:
            raise ConfigurationError(f"AWS profile {config.profile!r} is not in the shared config files") from None
        except NoRegionError:
            hint = "add ?region=... or set AWS_REGION"
            raise ConfigurationError(f"no AWS region for {config.describe()}: {hint}") from None
        try:
            await self._check_table(client)
        except BaseException:
            await context.__aexit__(None, None, None)
            raise
        watch_retries(client)
        self._context, self._client = context, client

    async def _close(self) -> None:
        context, self._context, self._client = self._context, None, None
        if context is not None:
            try:
                await context.__aexit__(None, None, None)
            except SERVICE_ERRORS:
                pass

    async def _check_table(self, client: Any) -> None:
        """Make sure the table exists with sessionkv's key schema (creating it if ``create_table``)."""
        table = self.table
        created = False  # this store found no table and created it (or raced another store creating it)
        try:
            try:
                description = (await client.describe_table(TableName=table))["Table"]
            except ClientError as exc:
                if _error_code(exc) != "ResourceNotFoundException":
                    raise
                if not self._config.create_table:
                    raise ConfigurationError(
                        f"DynamoDB table {table!r} does not exist ({self._config.describe()}): add create_table=true, "
                        f"or create it from `python -m sessionkv_dynamodb.table {table}`"
                    ) from None
                description = await self._create_table(client)
                created = True
            problem = schema_problem(description)
            if problem:
                raise ConfigurationError(f"DynamoDB table {table!r} cannot hold sessionkv keys: {problem}")
            if description.get("TableStatus") != "ACTIVE":
                await self._wait_active(client)
            await self._warn_without_ttl(client)
            await check_layout(client, table, self._config.describe(), new_table=created)
        except NoCredentialsError:
            raise ConfigurationError(
                "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or use a role"
            ) from None
        except SERVICE_ERRORS as exc:
            self._raise("start", exc)

    async def _create_table(self, client: Any) -> dict[str, Any]:
        """Create the on-demand table and enable TTL on ``ttl``; another process creating it too is fine."""
        try:
            await client.create_table(**create_table_request(self.table))
            log.info("created DynamoDB table %s", self._config.describe())
        except ClientError as exc:
            if _error_code(exc) != "ResourceInUseException":
                raise
        description = await self._wait_active(client)
        try:
            await client.update_time_to_live(
                TableName=self.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL}
            )
        except ClientError as exc:
            if _error_code(exc) != "ValidationException":  # "TimeToLive is already enabled"
                raise
        return description

    async def _wait_active(self, client: Any) -> dict[str, Any]:
        deadline = time.monotonic() + TABLE_ACTIVE_TIMEOUT
        while True:
            description: dict[str, Any] = (await client.describe_table(TableName=self.table))["Table"]
            if description.get("TableStatus") == "ACTIVE":
                return description
            if time.monotonic() > deadline:
                raise StoreError(f"DynamoDB table {self.table!r} not ACTIVE after {TABLE_ACTIVE_TIMEOUT:.0f} s")
            await asyncio.sleep(0.5)

    async def _warn_without_ttl(self, client: Any) -> None:
        reply = await client.describe_time_to_live(TableName=self.table)
        spec = reply.get("TimeToLiveDescription", {})
        if spec.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or spec.get("AttributeName") != TTL:
            log.warning(
                "TTL is not enabled on attribute %r of DynamoDB table %r: expired sessionkv items are hidden "
                "but never deleted (enable it: aws dynamodb update-time-to-live)",
                TTL,
                self.table,
            )

    # -- single keys ------------------------------------------------------------------------------

    def _item(self, key: str, value: bytes, ttl: float, now: float) -> Item:
        try:
            return build_item(self.namespace, key, value, now + ttl)
        except ValueError as exc:
            raise ValueTooLargeError(str(exc)) from None

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        request: dict[str, Any] = {"TableName": self.table, "Item": self._item(key, value, ttl, time.time())}
        if only_if_exists:
            request.update(
                ConditionExpression=LIVE,
                ExpressionAttributeNames=_names("#pk", "#exp"),
                ExpressionAttributeValues={":now": _now()},
            )
        try:
            await self.client.put_item(**request)
        except SERVICE_ERRORS as exc:
            if _error_code(exc) != CONDITION_FAILED:  # missing or expired: a silent no-op
                self._raise("set", exc)

    async def _get(self, key: str) -> bytes | None:
        try:
            reply = await self.client.get_item(
                TableName=self.table,
                Key=primary_key(self.namespace, key),
                ConsistentRead=True,
                ProjectionExpression="#v, #exp",
                ExpressionAttributeNames=_names("#v", "#exp"),
            )
        except SERVICE_ERRORS as exc:
            self._raise("get", exc)
        return _live_value(reply.get("Item"), time.time())

    # -- versioned writes (versions are the random ``ver`` of each write) ---------------------------

    async def _get_versioned(self, key: str) -> Versioned | None:
        try:
            reply = await self.client.get_item(
                TableName=self.table,
                Key=primary_key(self.namespace, key),
                ConsistentRead=True,
                ProjectionExpression="#v, #exp, #ver",
                ExpressionAttributeNames=_names("#v", "#exp", "#ver"),
            )
        except SERVICE_ERRORS as exc:
            self._raise("get_versioned", exc)
        item = reply.get("Item")
        value = _live_value(item, time.time())
        if value is None:
            return None
        version = item.get(VERSION, {}).get("B", UNVERSIONED)
        return Versioned(value, version if isinstance(version, bytes) else UNVERSIONED)

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        return await self._put_if(key, value, ttl, ABSENT, {}, "add") is not None

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        if version is None:
            return await self._put_if(key, value, ttl, ABSENT, {}, "cas")
        condition = _version_condition(version)
        if condition is None:  # not a version this backend hands out: it matches nothing
            return None
        return await self._put_if(key, value, ttl, *condition, "cas")

    async def _put_if(
        self, key: str, value: bytes, ttl: float, condition: str, values: dict[str, Any], op: str
    ) -> bytes | None:
        """PutItem under ``condition``; the new version, or ``None`` if the condition failed (nothing written)."""
        item = self._item(key, value, ttl, time.time())
        written = item[VERSION]["B"]
        assert isinstance(written, bytes)
        request = {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": _names_in(condition),
            "ExpressionAttributeValues": {**values, ":now": _now()},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        with retry_log() as attempts:
            try:
                await self.client.put_item(**request)
            except SERVICE_ERRORS as exc:
                if _error_code(exc) != CONDITION_FAILED:
                    self._raise(op, exc)
                if _refused_item_version(exc) == written:  # an earlier attempt of this call wrote it
                    return written
                if any(attempts):
                    self._raise_unknown(op, key, exc)
                return None
        return written

    async def _delete_if(self, key: str, version: Version) -> bool:
        condition = _version_condition(version)
        if condition is None:
            return False
        expression, values = condition
        with retry_log() as attempts:
            try:
                await self.client.delete_item(
                    TableName=self.table,
                    Key=primary_key(self.namespace, key),
                    ConditionExpression=expression,
                    ExpressionAttributeNames=_names_in(expression),
                    ExpressionAttributeValues={**values, ":now": _now()},
                )
            except SERVICE_ERRORS as exc:
                if _error_code(exc) != CONDITION_FAILED:
                    self._raise("delete_if", exc)
                if any(attempts):
                    self._raise_unknown("delete_if", key, exc)
                return False
        return True

    # -- expiry -----------------------------------------------------------------------------------

    async def _refresh(self, keys: list[str], ttl: float, op: str) -> list[str]:
        """One conditional UpdateItem per key (bounded concurrency); returns the keys that were missing or expired."""
        exp, whole = expiry_numbers(time.time() + ttl)
        values = {":exp": {"N": exp}, ":ttl": {"N": whole}}

        def job(key: str) -> Any:
            async def refresh() -> bool:
                try:
                    await self.client.update_item(
                        TableName=self.table,
                        Key=primary_key(self.namespace, key),
                        UpdateExpression=REFRESH,
                        ConditionExpression=LIVE,
                        ExpressionAttributeNames=_names("#pk", "#exp", "#ttl"),
                        ExpressionAttributeValues={**values, ":now": _now()},
                    )
                except SERVICE_ERRORS as exc:
                    if _error_code(exc) == CONDITION_FAILED:
                        return False
                    self._raise(op, exc)
                return True

            return refresh

        refreshed = await run_bounded([job(key) for key in keys], self._config.concurrency)
        return [key for key, done in zip(keys, refreshed, strict=True) if not done]

    async def _expire(self, keys: list[str], ttl: float) -> None:
        await self._refresh(keys, ttl, "expire")

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        return await self._refresh(keys, ttl, "touch")

    # -- batches ----------------------------------------------------------------------------------

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        table = self.table
        wanted = [primary_key(self.namespace, key) for key in keys]
        found: dict[tuple[Any, Any], bytes] = {}
        now = time.time()

        async def send(request: dict[str, Any]) -> dict[str, Any] | None:
            reply = await self.client.batch_get_item(RequestItems={table: request})
            for item in reply.get("Responses", {}).get(table, []):  # in any order: matched by primary key
                value = _live_value(item, now)
                if value is not None:
                    found[(item[PK]["S"], item[SK]["S"])] = value
            unprocessed: dict[str, Any] | None = reply.get("UnprocessedKeys", {}).get(table)
            return unprocessed

        def job(chunk: list[Item]) -> Any:
            request = {
                "Keys": chunk,
                "ConsistentRead": True,
                "ProjectionExpression": "#pk, #sk, #v, #exp",
                "ExpressionAttributeNames": _names("#pk", "#sk", "#v", "#exp"),
            }
            return lambda: until_processed(send, request, self.batch_backoff)

        try:
            await run_bounded([job(chunk) for chunk in chunks(wanted, BATCH_GET_LIMIT)], self._config.concurrency)
        except SERVICE_ERRORS as exc:
            self._raise("mget", exc)
        return [found.get((key[PK]["S"], key[SK]["S"])) for key in wanted]

    async def _write_batch(self, requests: list[dict[str, Any]], op: str) -> None:
        """BatchWriteItem ``requests`` (PutRequest/DeleteRequest) in chunks of 25, concurrently, until all are done."""
        table = self.table

        async def send(pending: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
            reply = await self.client.batch_write_item(RequestItems={table: pending})
            unprocessed: list[dict[str, Any]] | None = reply.get("UnprocessedItems", {}).get(table)
            return unprocessed

        def job(chunk: list[dict[str, Any]]) -> Any:
            return lambda: until_processed(send, chunk, self.batch_backoff)

        try:
            await run_bounded([job(chunk) for chunk in chunks(requests, BATCH_WRITE_LIMIT)], self._config.concurrency)
        except SERVICE_ERRORS as exc:
            self._raise(op, exc)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        now = time.time()
        puts = [{"PutRequest": {"Item": self._item(key, value, ttl, now)}} for key, value, ttl in items]
        await self._write_batch(puts, "mset")

    async def _delete(self, keys: list[str]) -> None:
        ns = self.namespace
        await self._write_batch([{"DeleteRequest": {"Key": primary_key(ns, key)}} for key in keys], "delete")

    # -- listing ----------------------------------------------------------------------------------

    async def _keys(self, prefix: str) -> list[str]:
        return [key for key in map(stored_key, await self._listed("keys", prefix, False)) if key.startswith(prefix)]

    async def _items(self, prefix: str) -> list[tuple[str, bytes]]:
        """``keys``' Query (or Scan) reading the values too: one listing, no BatchGetItem after it."""
        now, found = time.time(), []
        for item in await self._listed("items", prefix, True):
            key, value = stored_key(item), _live_value(item, now)
            if value is not None and key.startswith(prefix):
                found.append((key, value))
        return found

    async def _listed(self, op: str, prefix: str, values_too: bool) -> list[Item]:
        """The live items under ``prefix``: a Query of one partition when ``prefix`` determines it; otherwise a
        Scan filtered on the namespace. Their key attributes, and with ``values_too`` their value and expiry."""
        values: dict[str, Any] = {":now": _now()}
        projection, value_names = ("#sk, #k, #v, #exp", ["#v"]) if values_too else ("#sk, #k", [])
        request: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True, "ProjectionExpression": projection}
        partition = listing_partition(prefix)
        if partition is not None:
            values[":pk"] = {"S": partition_key(self.namespace, partition)[0]}
            values[":prefix"] = {"S": sort_prefix(prefix)}
            request["KeyConditionExpression"] = "#pk = :pk AND begins_with(#sk, :prefix)"
            request["FilterExpression"] = "#exp > :now"
            request["ExpressionAttributeNames"] = _names("#pk", "#sk", "#exp", "#k", *value_names)
            call = self.client.query
        else:
            values[":tag"] = {"S": self._tag}
            values[":ns"] = {"S": self.namespace}
            condition = "(begins_with(#pk, :tag) OR #ns = :ns) AND #exp > :now"
            if prefix:
                values[":prefix"] = {"S": sort_prefix(prefix)}
                condition += " AND begins_with(#sk, :prefix)"
            request["FilterExpression"] = condition
            request["ExpressionAttributeNames"] = _names("#pk", "#sk", "#exp", "#k", "#ns", *value_names)
            call = self.client.scan
        request["ExpressionAttributeValues"] = values
        out: list[Item] = []
        try:
            while True:
                reply = await call(**request)
                self.keys_examined += int(reply.get("ScannedCount", 0))
                out.extend(reply.get("Items", []))
                last = reply.get("LastEvaluatedKey")
                if not last:  # a page may be empty after filtering while more follow: only this ends the listing
                    return out
                request["ExclusiveStartKey"] = last
        except SERVICE_ERRORS as exc:
            self._raise(op, exc)

    # -- errors -----------------------------------------------------------------------------------

    def _raise(self, op: str, exc: BaseException) -> NoReturn:
        """Raise ``StoreError`` for a failed ``op`` with the cause chained and a one-line reason."""
        code = _error_code(exc)
        where = self._config.describe()
        if code == "ResourceNotFoundException":
            raise StoreError(f"dynamodb {op} failed: table {self.table!r} not found ({where})") from exc
        if isinstance(exc, NoCredentialsError):
            raise StoreError(f"dynamodb {op} failed on {where}: no AWS credentials found") from exc
        reason = redact(f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__)
        raise StoreError(f"dynamodb {op} failed on {where}: {reason}") from exc

    def _raise_unknown(self, op: str, key: str, exc: BaseException) -> NoReturn:
        """Raise ``StoreError``: a conditional write failed its condition after a retry, and an earlier attempt
        may have been applied (its reply was lost), so neither "written" nor "refused" is known."""
        raise StoreError(
            f"dynamodb {op} of {key[:40]!r} on {self._config.describe()}: the reply to an earlier attempt was lost "
            "and it may have been applied; read the key again to know"
        ) from exc

    def __repr__(self) -> str:
        return f"<DynamoDBStore {self._config.describe()} namespace={self.namespace!r}>"
