"""Store URL parsing and password redaction."""

from __future__ import annotations

import pytest

from sessionkv import ConfigurationError, Host, InvalidURLError, StoreURL, open_store, redact


def test_full_url_parts() -> None:
    url = StoreURL.parse("redis://us%40er:p%3Ass%40w@host.example:6380/2?namespace=app:&socket_timeout=1.5")
    assert url.scheme == "redis"
    assert url.username == "us@er"
    assert url.password == "p:ss@w"
    assert url.hosts == (Host("host.example", 6380),)
    assert url.path == "/2"
    assert url.query == {"namespace": "app:", "socket_timeout": "1.5"}


def test_multi_host_and_ipv6() -> None:
    url = StoreURL.parse("redis+cluster://a:7000,[::1]:7001,b")
    assert url.hosts == (Host("a", 7000), Host("::1", 7001), Host("b", None))
    assert str(url) == "redis+cluster://a:7000,[::1]:7001,b"


def test_unix_socket_path_and_memory_name() -> None:
    assert StoreURL.parse("unix:///var/run/redis.sock?db=1").path == "/var/run/redis.sock"
    assert StoreURL.parse("memory://Demo").host == Host("Demo")
    assert StoreURL.parse("MEMORY://").scheme == "memory"


def test_password_never_in_repr_or_str() -> None:
    url = StoreURL.parse("redis://user:hunter2@h:1/0")
    assert "hunter2" not in repr(url)
    assert "hunter2" not in str(url)
    assert "***" in str(url)
    assert url.render(show_password=True) == "redis://user:hunter2@h:1/0"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "localhost:6379",
        "redis//host",
        "://host",
        "redis://:hunter2@host:notaport",
        "redis://:hunter2@host:0",
        "redis://:hunter2@host:70000",
        "redis://:hunter2@[::1:6379",
        "redis://:hunter2@host/0#frag",
        "redis://:hunter2@host?a=1&a=2",
        "redis://:hunter2@host/%ff",
        "redis://:hunter2@,host",
    ],
)
def test_malformed_urls_raise_without_the_password(bad: str) -> None:
    with pytest.raises(InvalidURLError) as info:
        StoreURL.parse(bad)
    assert "hunter2" not in str(info.value)
    assert isinstance(info.value, ConfigurationError)


def test_non_string_url() -> None:
    with pytest.raises(TypeError):
        StoreURL.parse(b"memory://")  # type: ignore[arg-type]


def test_redact_free_text() -> None:
    text = "failed: redis://admin:s3cr%40t@h:1/0 and rediss://:x@y"
    assert redact(text) == "failed: redis://admin:***@h:1/0 and rediss://:***@y"
    assert redact("memory://name") == "memory://name"


def test_a_query_option_named_password_is_a_secret_too() -> None:
    url = StoreURL.parse("redis+sentinel://:nodepw@h:26379/svc?sentinel_password=s3ntinel&socket_timeout=2")
    shown = repr(url) + str(url)
    assert "s3ntinel" not in shown and "nodepw" not in shown
    assert str(url) == "redis+sentinel://:***@h:26379/svc?sentinel_password=***&socket_timeout=2"
    assert url.query["sentinel_password"] == "s3ntinel"  # held, for the backend to use
    assert url.render(show_password=True).endswith("?sentinel_password=s3ntinel&socket_timeout=2")
    text = "cannot reach redis+sentinel://h/svc?db=1&sentinel_password=s3ntinel&x=1 ('password=pw2')"
    assert redact(text) == "cannot reach redis+sentinel://h/svc?db=1&sentinel_password=***&x=1 ('password=***')"


def test_open_store_errors_never_show_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        open_store("memory://:topsecret@name")
    assert "topsecret" not in str(info.value)
