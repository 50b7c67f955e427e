"""DynamoDB store URLs and options: ``dynamodb://TABLE?region=...&endpoint_url=...``.

Turns a ``StoreURL`` plus keyword overrides into a checked ``DynamoDBConfig`` and builds the
aioboto3 session and client from it. Credentials never come from the URL: the standard AWS chain
(environment, shared config/``profile``, instance or task role) provides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sessionkv import ConfigurationError, Option, StoreURL, resolve_options
from sessionkv.options import NAMESPACE_OPTION

from .layout import MAX_NAMESPACE_SIZE, utf8_len
from .table import check_table_name

SCHEME = "dynamodb"


def _retries(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("expected a whole number >= 0")
    return value


def _endpoint(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return text


OPTIONS: dict[str, Option] = {
    "namespace": NAMESPACE_OPTION,
    "region": Option(str, None, "AWS region (default: from the AWS config chain, e.g. AWS_REGION)"),
    "endpoint_url": Option(
        str, None, "endpoint other than AWS's (DynamoDB Local, moto, LocalStack), http(s)://host:port", parse=_endpoint
    ),
    "profile": Option(str, None, "named profile of the shared AWS config/credentials files"),
    "create_table": Option(bool, False, "create the table (on-demand, TTL enabled) when it does not exist"),
    "connect_timeout": Option(float, 3.0, "seconds to wait for a connection", positive=True),
    "read_timeout": Option(float, 5.0, "seconds to wait for a reply", positive=True),
    "retries": Option(int, 3, "retries after throttling, timeouts and 5xx replies (backoff)", parse=_retries),
    "concurrency": Option(int, 16, "requests one batch call keeps in flight (and connection pool size)", positive=True),
}


@dataclass(frozen=True)
class DynamoDBConfig:
    """Where the table is and how to talk to it (no secrets: credentials come from the AWS chain)."""

    table: str
    namespace: str
    region: str | None
    endpoint_url: str | None
    profile: str | None
    create_table: bool
    connect_timeout: float
    read_timeout: float
    retries: int
    concurrency: int

    @classmethod
    def from_url(cls, url: StoreURL, overrides: dict[str, Any]) -> DynamoDBConfig:
        """Check ``url`` (``dynamodb://TABLE?option=value``) and options; raise ``ConfigurationError`` when bad."""
        if url.scheme != SCHEME:
            raise ConfigurationError(f"the dynamodb backend serves dynamodb://, not {url.scheme}://")
        if url.username is not None or url.password is not None:
            raise ConfigurationError(
                "dynamodb:// URLs take no credentials: they come from the AWS chain (environment, profile, role)"
            )
        if len(url.hosts) != 1 or url.hosts[0].port is not None or url.path not in ("", "/"):
            raise ConfigurationError(
                f"expected dynamodb://TABLE[?option=value...], got {url}; the endpoint goes in endpoint_url="
            )
        opts = resolve_options(OPTIONS, url.query, overrides, scheme=SCHEME)
        return cls.build(url.hosts[0].host, opts)

    @classmethod
    def build(cls, table: str, opts: dict[str, Any]) -> DynamoDBConfig:
        """A config from a table name and resolved options (see ``OPTIONS``)."""
        namespace = opts["namespace"]
        if utf8_len(namespace) > MAX_NAMESPACE_SIZE:
            raise ConfigurationError(f"namespace is over {MAX_NAMESPACE_SIZE} UTF-8 bytes")
        if opts["endpoint_url"] is not None:
            _check_endpoint(opts["endpoint_url"])
        for name in ("region", "profile"):
            if opts[name] == "":
                raise ConfigurationError(f"option {name} is empty; leave it out to use the AWS config chain")
        return cls(
            table=check_table_name(table),
            namespace=namespace,
            region=opts["region"],
            endpoint_url=opts["endpoint_url"],
            profile=opts["profile"],
            create_table=opts["create_table"],
            connect_timeout=opts["connect_timeout"],
            read_timeout=opts["read_timeout"],
            retries=opts["retries"],
            concurrency=opts["concurrency"],
        )

    def describe(self) -> str:
        """``dynamodb://TABLE`` plus where it is, for messages and reprs."""
        where = self.endpoint_url or f"region {self.region or '(from AWS config)'}"
        return f"dynamodb://{self.table} at {where}"

    def build_session(self) -> Any:
        """An aiobotocore session for ``profile`` (aioboto3's engine; only its low-level client is used)."""
        from aiobotocore.session import AioSession  # type: ignore[import-untyped]

        session = AioSession(profile=self.profile)
        session.register_component("data_loader", _shared_loader(session))
        return session

    def client_context(self, session: Any) -> Any:
        """The async context manager of a DynamoDB client: timeouts, standard retry mode, pool of ``concurrency``."""
        from aiobotocore.config import AioConfig  # type: ignore[import-untyped]

        config = AioConfig(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"max_attempts": self.retries, "mode": "standard"},  # retries after the first attempt
            max_pool_connections=self.concurrency,
        )
        return session.create_client("dynamodb", region_name=self.region, endpoint_url=self.endpoint_url, config=config)


_LOADER: list[Any] = []


def _shared_loader(session: Any) -> Any:
    """One botocore data loader for every store of the process: it caches the parsed DynamoDB service model.

    A fresh session parses it again (~50 ms of blocking JSON work, which starves the event loop when stores
    open while others work); shared, opening a client takes ~3 ms.
    """
    if not _LOADER:
        _LOADER.append(session.get_component("data_loader"))
    return _LOADER[0]


def _check_endpoint(value: str) -> None:
    try:
        _endpoint(value)
    except ValueError as exc:
        raise ConfigurationError(f"option endpoint_url={value!r}: {exc}") from None
