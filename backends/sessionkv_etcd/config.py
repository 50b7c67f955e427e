"""etcd store URLs and options: ``etcd://`` and ``etcds://`` (TLS), one or several endpoints.

Turns a ``StoreURL`` plus keyword overrides into an ``EtcdConfig`` (typed, checked, password kept
out of every repr and error).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

from sessionkv import ConfigurationError, Option, StoreURL, resolve_options
from sessionkv.options import NAMESPACE_OPTION

SCHEMES = ("etcd", "etcds")
DEFAULT_PORT = 2379
DEFAULT_HOST = "127.0.0.1"

COMMON_OPTIONS: dict[str, Option] = {
    "namespace": NAMESPACE_OPTION,
    "timeout": Option(
        float, 5.0, "seconds one operation may take, failover included, before StoreError", positive=True
    ),
    "max_connections": Option(int, 32, "HTTP connections kept open to the etcd endpoints", positive=True),
}
TLS_OPTIONS: dict[str, Option] = {
    "ssl_ca_certs": Option(str, None, "CA bundle file that signs the server certificates (default: system CAs)"),
    "ssl_certfile": Option(str, None, "client certificate file (etcd --client-cert-auth)"),
    "ssl_keyfile": Option(str, None, "client private key file (with ssl_certfile)"),
    "ssl_check_hostname": Option(bool, True, "check each server certificate matches its host name"),
}
#: Every option of every scheme (what ``EtcdStore.options`` lists).
ALL_OPTIONS: dict[str, Option] = {**COMMON_OPTIONS, **TLS_OPTIONS}


@dataclass(frozen=True)
class EtcdConfig:
    """Everything needed to reach etcd; ``url`` is the parsed URL (its str hides the password)."""

    url: StoreURL
    namespace: str
    endpoints: tuple[str, ...]
    timeout: float
    max_connections: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: StoreURL, overrides: dict[str, Any]) -> EtcdConfig:
        """Check ``url`` and options; raise ``ConfigurationError`` (password never shown) when bad."""
        if url.scheme not in SCHEMES:
            raise ConfigurationError(f"the etcd backend serves etcd:// and etcds://, not {url.scheme}://")
        secure = url.scheme == "etcds"
        spec = ALL_OPTIONS if secure else COMMON_OPTIONS
        misplaced = sorted(name for name in {*url.query, *overrides} if name in TLS_OPTIONS and not secure)
        if misplaced:
            raise ConfigurationError(f"option(s) {', '.join(misplaced)} apply only to etcds:// (TLS), got {url}")
        opts = resolve_options(spec, url.query, overrides, scheme=url.scheme)
        if url.path not in ("", "/"):
            raise ConfigurationError(f"etcd URLs take no path (use ?namespace=... for a key prefix), got {url}")
        if (url.username is None) != (url.password is None):
            raise ConfigurationError(f"etcd auth needs both a user name and a password (user:password@), got {url}")
        if secure and (opts["ssl_certfile"] is None) != (opts["ssl_keyfile"] is None):
            raise ConfigurationError(f"ssl_certfile and ssl_keyfile go together (client certificate and key), {url}")
        protocol = "https" if secure else "http"
        hosts = [str(h) if h.port else f"{h}:{DEFAULT_PORT}" for h in url.hosts] or [f"{DEFAULT_HOST}:{DEFAULT_PORT}"]
        if len(set(hosts)) != len(hosts):
            raise ConfigurationError(f"an endpoint is listed twice in {url}")
        tls = {name: opts[name] for name in TLS_OPTIONS} if secure else {}
        return cls(
            url,
            opts["namespace"],
            tuple(f"{protocol}://{host}" for host in hosts),
            opts["timeout"],
            opts["max_connections"],
            url.username,
            url.password,
            tls,
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for ``etcds://`` (``None`` for plain ``etcd://``); reads the certificate files."""
        if not self.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=self.tls["ssl_ca_certs"])
            context.check_hostname = self.tls["ssl_check_hostname"]
            if self.tls["ssl_certfile"] is not None:
                context.load_cert_chain(self.tls["ssl_certfile"], self.tls["ssl_keyfile"])
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot load the TLS files for {self.url}: {exc}") from exc
        return context
