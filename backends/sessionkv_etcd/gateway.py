"""A small client of etcd's v3 JSON gateway over aiohttp: endpoints with failover, auth token, TLS.

Why not etcd3-py's ``AioClient`` for the requests themselves: its swagger-model encoding and
decoding costs about 1.5 ms of event-loop CPU per operation (a 128-op txn: ~100 ms to encode and
~175 ms to decode, against a 7 ms round trip), so a 10,000-session heartbeat would block the loop
for seconds; its constructor blocks on an HTTP probe; and its TLS set-up ignores a CA without a
client certificate. The gateway's JSON is simple enough to speak directly (see ``wire``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp

from .config import EtcdConfig

#: gRPC status codes (in the gateway's error replies) after which another endpoint may do better.
UNAVAILABLE, DEADLINE_EXCEEDED, UNAUTHENTICATED = 14, 4, 16
FAILOVER_CODES = frozenset({UNAVAILABLE, DEADLINE_EXCEEDED})
#: Passes over every endpoint before giving up (a reused connection may have died: a lone endpoint is retried), and the
#: first pause between passes (doubling): long enough for an etcd leader election with default timers.
ROUNDS = 3
BACKOFF = 0.1
#: Errors that mean "this endpoint cannot be reached right now": try the next one.
TRANSPORT_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError, TimeoutError)


class EtcdRequestError(Exception):
    """etcd answered a request with an error; ``code`` is its gRPC status code (0 if unknown)."""

    def __init__(self, message: str, code: int, status: int) -> None:
        super().__init__(f"{message} (code {code}, HTTP {status})")
        self.code = code
        self.status = status


class EtcdUnavailableError(Exception):
    """No endpoint answered in time; the last failure is the ``__cause__``."""


class EtcdOutcomeUnknownError(EtcdUnavailableError):
    """A conditional write may or may not have been applied (the request was sent, no reply came back).

    Not retried: a retry of a txn that did apply would see its own write, fail its compare, and report a
    write that happened as refused (a lost lease, a counter increment counted twice).
    """


class Gateway:
    """Sends JSON requests to the first endpoint that answers, sticking to it until it fails."""

    def __init__(self, config: EtcdConfig) -> None:
        self.config = config
        self.endpoints = config.endpoints
        self._current = 0
        self._prefix = "/v3"
        self._token: str | None = None
        self._session: aiohttp.ClientSession | None = None
        many = min(len(self.endpoints), 3)
        #: One attempt's share of the operation timeout, so a hung endpoint leaves time for the next.
        self.attempt_timeout = config.timeout / many if many > 1 else config.timeout

    @property
    def endpoint(self) -> str:
        """The endpoint requests go to first."""
        return self.endpoints[self._current]

    async def open(self, ssl_context: ssl.SSLContext | None) -> None:
        """Create the HTTP session, learn the API prefix from ``/version`` and log in if configured."""
        connector = aiohttp.TCPConnector(limit=self.config.max_connections, ssl=ssl_context or True)
        self._session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
        try:
            version = await self.request("GET", "/version", None)
            self._prefix = served_prefix(version)
            if self.config.username is not None:
                await self.authenticate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close every connection."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def authenticate(self) -> None:
        """Exchange the user name and password for a token sent with every later request."""
        self._token = None
        body = {"name": self.config.username, "password": self.config.password}
        reply = await self.request("POST", self._prefix + "/auth/authenticate", body)
        self._token = str(reply["token"])

    async def call(self, path: str, body: dict[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        """POST ``body`` to the v3 API ``path`` (e.g. ``/kv/txn``); re-login once if the token expired.

        ``idempotent=False`` (conditional writes): an attempt that may have reached etcd is never retried.
        """
        try:
            return await self.request("POST", self._prefix + path, body, idempotent=idempotent)
        except EtcdRequestError as exc:
            if exc.code != UNAUTHENTICATED or self.config.username is None:
                raise
        await self.authenticate()  # etcd refused the request before applying it: safe to send again
        return await self.request("POST", self._prefix + path, body, idempotent=idempotent)

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, *, idempotent: bool = True
    ) -> dict[str, Any]:
        """One request with failover: the next endpoint on transport errors or "unavailable" replies, in a few
        passes with short pauses between them (the caller's timeout bounds the whole). Unless ``idempotent``,
        only failures to connect move on: any other failure raises ``EtcdOutcomeUnknownError``."""
        session = self._session
        if session is None:
            raise EtcdUnavailableError("the etcd client is closed")
        rounds = len(self.endpoints)
        last: BaseException | None = None
        for attempt in range(ROUNDS * rounds):
            if attempt and attempt % rounds == 0:  # every endpoint failed once: let an election settle
                await asyncio.sleep(min(BACKOFF * 2 ** (attempt // rounds - 1), 0.5))
            index = self._current
            try:
                return await self._send(session, method, self.endpoints[index] + path, body)
            except TRANSPORT_ERRORS as exc:
                last = exc
                sent = not isinstance(exc, aiohttp.ClientConnectorError)  # anything but "could not connect"
            except EtcdRequestError as exc:
                if exc.code not in FAILOVER_CODES:
                    raise
                last, sent = exc, True  # e.g. "request timed out": the proposal may still commit
            if self._current == index:  # a concurrent request may have moved on already
                self._current = (index + 1) % len(self.endpoints)
            if sent and not idempotent:  # later requests go to the next endpoint; this one is not re-sent
                raise EtcdOutcomeUnknownError(
                    f"{type(last).__name__}: {last}; the write may have been applied"
                ) from last
        tried = ", ".join(self.endpoints)
        raise EtcdUnavailableError(f"no etcd endpoint answered ({tried}): {type(last).__name__}: {last}") from last

    async def _send(
        self, session: aiohttp.ClientSession, method: str, url: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        headers = {"Authorization": self._token} if self._token else None
        async with asyncio.timeout(self.attempt_timeout):
            async with session.request(method, url, json=body, headers=headers) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:  # a proxy's page, or etcd's own "404 page not found" for a path it does not serve
                    text = (await response.text(errors="replace")).strip()
                    raise EtcdRequestError(
                        f"{method} {response.url.path} answered {text[:120]!r}, not JSON",
                        0,
                        response.status,
                    ) from None
                if response.status >= 400 or not isinstance(data, dict) or "error" in data:
                    raise _error_of(data, response.status)
                return data


def _error_of(data: Any, status: int) -> EtcdRequestError:
    if not isinstance(data, dict):
        return EtcdRequestError(f"unexpected reply {data!r:.200}", 0, status)
    message = data.get("message") or data.get("error") or f"HTTP {status}"
    if isinstance(message, dict):  # streaming-style error envelope
        message = message.get("message", str(message))
    code = data.get("code", 0)
    return EtcdRequestError(str(message), int(code) if str(code).isdigit() else 0, status)


def served_prefix(version: Mapping[str, Any]) -> str:
    """The gateway path prefix the answering member serves, from its ``/version`` reply.

    The member's own ``etcdserver`` version decides the paths it serves. ``etcdcluster`` does not: it reads
    ``3.0.0`` until the leader settles the cluster version, seconds after a cluster starts or a member
    restarts, and a store opened then took ``/v3alpha``, which etcd 3.4+ answers with 404 on every call.
    """
    return api_prefix(str(version.get("etcdserver") or version.get("etcdcluster") or "3.4.0"))


def api_prefix(version: str) -> str:
    """The gateway path prefix for an etcd cluster version: ``/v3`` from 3.4, ``/v3beta`` on 3.3."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return "/v3"
    if (major, minor) >= (3, 4):
        return "/v3"
    return "/v3beta" if (major, minor) == (3, 3) else "/v3alpha"
