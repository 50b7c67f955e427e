"""Redis URLs and options: schemes, database, TLS and pool options, redaction; no server needed."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from sessionkv import ConfigurationError, InvalidURLError, StoreNotStartedError, open_store
from sessionkv_redis.scan import glob_escape
from sessionkv_redis.store import CLUSTER_CAPABILITIES, SINGLE_NODE_CAPABILITIES, RedisStore, ttl_ms

PASSWORD = "hunter2-s3cret"


def test_open_store_redis_url_with_password_namespace_and_db() -> None:
    store = open_store(f"redis://:{PASSWORD}@cache.example:6380/2?namespace=myapp:")
    assert isinstance(store, RedisStore)
    assert store.namespace == "myapp:"
    assert store.owns_client
    config = store._config
    assert config is not None
    assert config.connection["db"] == 2 and config.connection["password"] == PASSWORD
    assert "cache.example:6380" in repr(store) and PASSWORD not in repr(store) and "***" in repr(store)
    assert store.capabilities == SINGLE_NODE_CAPABILITIES and store.capabilities.atomic_mset


def test_acl_username_and_defaults() -> None:
    store = open_store(f"redis://alice:{PASSWORD}@h")
    config = store._config  # type: ignore[attr-defined]
    assert config.connection["username"] == "alice"
    assert config.connection["db"] == 0
    assert config.connection["socket_timeout"] == 5.0
    assert config.max_connections is None
    assert store.namespace == "sessionkv:"
    assert PASSWORD not in repr(store) and "alice" in repr(store)


def test_keyword_overrides_and_query_options() -> None:
    store = open_store(
        "redis://h/0?socket_timeout=0.25&max_connections=7&client_name=node-a&retries=0",
        socket_connect_timeout=2,
        namespace="ns:",
    )
    config = store._config  # type: ignore[attr-defined]
    assert config.connection["socket_timeout"] == 0.25
    assert config.connection["socket_connect_timeout"] == 2.0
    assert config.connection["client_name"] == "node-a"
    assert config.connection["retry"].get_retries() == 0
    assert config.max_connections == 7
    assert store.namespace == "ns:"


def test_db_as_query_option_and_conflict() -> None:
    assert open_store("redis://h?db=4")._config.connection["db"] == 4  # type: ignore[attr-defined]
    assert open_store("redis://h/4?db=4")._config.connection["db"] == 4  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="database given twice"):
        open_store("redis://h/1?db=2")
    with pytest.raises(ConfigurationError, match="database number"):
        open_store(f"redis://:{PASSWORD}@h/zero")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("redis://h?bogus=1", "unknown option.*bogus.*Valid options"),
        ("redis://h?socket_timeout=-1", "socket_timeout"),
        ("redis://h?socket_timeout=abc", "socket_timeout"),
        ("redis://h?max_connections=0", "max_connections"),
        ("redis://h?retries=-1", "retries"),
        ("redis://h?ssl_ca_certs=/ca.pem", "ssl_ca_certs applies only to rediss://, redis\\+cluster://"),
        ("rediss://h?ssl_cert_reqs=maybe", "ssl_cert_reqs"),
        ("redis://a:1,b:2", "use redis\\+cluster://"),
        ("unix://host/tmp/redis.sock", "no host"),
        ("unix://", "needs a socket path"),
        ("unix:///tmp/redis.sock?ssl_keyfile=k", "ssl_keyfile applies only to"),
        ("redis+cluster://a:1,b:2/1", "only database 0"),
        ("redis+cluster://a:1?db=1", "db applies only to"),
        ("redis+cluster://a:1?ssl_ca_certs=/ca.pem", "need ssl=true"),
        ("memcached://h", "serves redis"),
    ],
)
def test_bad_urls_and_options_are_configuration_errors(url: str, match: str) -> None:
    secret = url.replace("://", f"://:{PASSWORD}@", 1) if "@" not in url else url
    with pytest.raises(ConfigurationError, match=match) as info:
        RedisStore(secret)
    assert PASSWORD not in str(info.value)


def test_bad_keyword_overrides() -> None:
    with pytest.raises(ConfigurationError, match="socket_timeout must be > 0"):
        open_store("redis://h", socket_timeout=0)
    with pytest.raises(ConfigurationError, match="ssl_cert_reqs"):
        open_store("rediss://h", ssl_cert_reqs="sometimes")
    with pytest.raises(ConfigurationError, match="unknown option"):
        open_store("redis://h", pool_size=3)


def test_malformed_url_hides_password() -> None:
    with pytest.raises(InvalidURLError) as info:
        open_store(f"redis://:{PASSWORD}@h:99999/0")
    assert PASSWORD not in str(info.value)


def test_rediss_tls_options() -> None:
    store = open_store(
        "rediss://h:6390/0?ssl_ca_certs=/etc/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k.pem"
        "&ssl_cert_reqs=optional&ssl_check_hostname=false"
    )
    conn = store._config.connection  # type: ignore[attr-defined]
    assert conn["ssl_ca_certs"] == "/etc/ca.pem" and conn["ssl_certfile"] == "/c.pem"
    assert conn["ssl_keyfile"] == "/k.pem" and conn["ssl_cert_reqs"] == "optional"
    assert conn["ssl_check_hostname"] is False


def test_unix_socket_url() -> None:
    store = open_store(f"unix://:{PASSWORD}@/run/redis/redis.sock?db=3")
    config = store._config  # type: ignore[attr-defined]
    assert config.socket_path == "/run/redis/redis.sock" and config.connection["db"] == 3
    assert PASSWORD not in repr(store)


def test_cluster_url() -> None:
    store = open_store(f"redis+cluster://:{PASSWORD}@n1:7000,n2:7001,n3?ssl=true&ssl_ca_certs=/ca.pem")
    config = store._config  # type: ignore[attr-defined]
    assert config.cluster and [str(h) for h in config.url.hosts] == ["n1:7000", "n2:7001", "n3"]
    assert config.connection["ssl"] is True and config.connection["ssl_ca_certs"] == "/ca.pem"
    assert store.capabilities == CLUSTER_CAPABILITIES and not store.capabilities.atomic_mset
    assert PASSWORD not in repr(store)


def test_existing_client_takes_no_options_and_must_return_bytes() -> None:
    client = aioredis.Redis()
    assert not RedisStore(client).owns_client
    with pytest.raises(ConfigurationError, match="apply to URLs only"):
        RedisStore(client, socket_timeout=1.0)
    with pytest.raises(ConfigurationError, match="decode_responses=False"):
        RedisStore(aioredis.Redis(decode_responses=True))
    with pytest.raises(TypeError, match=r"URL or a redis\.asyncio client"):
        RedisStore(42)  # type: ignore[arg-type]


def test_repr_of_borrowed_client_store() -> None:
    store = RedisStore(aioredis.Redis(password=PASSWORD), namespace="x:")
    assert repr(store) == "<RedisStore borrowed Redis client namespace='x:'>"


def test_not_started_store_refuses_operations() -> None:
    store = open_store("redis://h")
    with pytest.raises(StoreNotStartedError, match="not started"):
        _ = store.client  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ttl", "ms"), [(1e-9, 1), (0.0004, 1), (0.001, 1), (0.0011, 2), (1.0, 1000), (1.0004, 1001), (86400.0, 86400000)]
)
def test_ttl_rounds_up_to_whole_milliseconds_never_zero(ttl: float, ms: int) -> None:
    assert ttl_ms(ttl) == ms


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("plain", "plain"), ("a*b", "a\\*b"), ("q?", "q\\?"), ("[x]", "\\[x\\]"), ("back\\slash", "back\\\\slash")],
)
def test_glob_escape(text: str, escaped: str) -> None:
    assert glob_escape(text) == escaped
