"""Property-based bad URLs: ``open_store`` returns a store or raises a documented ``SessionKVError``, never another
exception, and a password planted in the URL shows in no message, repr or log record, however mangled the URL."""

from __future__ import annotations

import logging
from urllib.parse import quote

from hardening_support import exception_text
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from log_capture import captured_logs

from sessionkv import SessionKVError, open_store
from sessionkv.discovery import default_catalog

#: Planted in every password; alphanumeric, so percent-encoding leaves it as it is.
SECRET = "Pl4ntedSecretZ9"

KNOWN_SCHEMES = default_catalog.schemes()
schemes = st.one_of(
    st.sampled_from(KNOWN_SCHEMES),
    st.sampled_from(["REDIS", "Redis+Cluster", "ETCDS", "memcache", "dynamo", "redis+sentinel", "http", "x-y.z"]),
    st.from_regex(r"[a-z][a-z0-9+.\-]{0,10}", fullmatch=True),
)
#: Around the secret: the characters that end a URL part when not percent-encoded.
tricky = st.text(alphabet="@#:/%?&=[] \ta1", max_size=5)
passwords = st.builds(lambda before, after: before + SECRET + after, tricky, tricky)
users = st.sampled_from(["", "user", "root", "u%40corp", "a:b", "%", "%zz", "\u00e9"])
host_names = st.sampled_from(
    ["127.0.0.1", "localhost", "[::1]", "[fe80::1%25eth0]", "[::1", "::1", "[::1]x", "h_o-st", "", "t\u00e9", "%41"]
)
ports = st.sampled_from(["", ":6379", ":0", ":65535", ":65536", ":-1", ":abc", ":99999999999999999999", ":", ":\uff11"])
hosts = st.lists(st.builds(str.__add__, host_names, ports), min_size=0, max_size=3).map(",".join)
paths = st.sampled_from(["", "/", "/0", "/15", "/-1", "/x", "/0/1", "/tmp/redis.sock", "/%ff", "/table"])
option_names = st.sampled_from(
    [
        "namespace", "socket_timeout", "socket_connect_timeout", "timeout", "connect_timeout", "read_timeout",
        "retries", "db", "ssl", "ssl_cert_reqs", "ssl_ca_certs", "max_connections", "pool_size", "region",
        "endpoint_url", "create_table", "directory_index", "unknown", "", "ns%00",
    ]
)  # fmt: skip
option_values = st.sampled_from(
    ["", "0", "-1", "1.5", "nan", "inf", "1e999", "true", "maybe", "abc", "http://x:1", "ftp://x", "%zz", "a&b"]
)
queries = st.lists(st.tuples(option_names, option_values), max_size=4).map(
    lambda pairs: "?" + "&".join(f"{name}={value}" for name, value in pairs) if pairs else ""
)


@st.composite
def store_urls(draw: st.DrawFn) -> str:
    """A URL of any scheme, often broken, with ``SECRET`` in its password (percent-encoded, or raw)."""
    password = draw(passwords)
    encoded = quote(password, safe="") if draw(st.booleans()) else password
    userinfo = draw(st.sampled_from(["{user}:{pw}@", ":{pw}@", "{user}:{pw}@"])).format(user=draw(users), pw=encoded)
    return f"{draw(schemes)}://{userinfo}{draw(hosts)}{draw(paths)}{draw(queries)}"


def assert_secret_hidden(text: str, where: str) -> None:
    assert SECRET not in text, f"the password shows in {where}: {text!r}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=store_urls())
@example(url=f"redis://u:a/b{SECRET}@127.0.0.1:6379/0")
@example(url=f"redis://u:1/{SECRET}@127.0.0.1:6379/0")
@example(url=f"rediss://:x#{SECRET}@127.0.0.1")
@example(url=f"etcd://root:{SECRET}@[::1]:2379,[::1]:2379")
@example(url=f"redis+cluster://:{SECRET}@[::1]:1,h:0")
def test_open_store_returns_a_store_or_a_documented_error_without_the_password(url: str) -> None:
    with captured_logs(logging.DEBUG) as records:
        try:
            store = open_store(url)
        except SessionKVError as exc:
            assert_secret_hidden(exception_text(exc), f"the {type(exc).__name__} raised")
        else:
            assert_secret_hidden(repr(store), "repr(store)")
            assert_secret_hidden(str(store), "str(store)")
    assert_secret_hidden("\n".join(records), "a log record")
