"""Bearer-token authentication and a request-size limit for the operator API (pure ASGI middleware).

Every route except ``/health`` needs ``Authorization: Bearer <token>``; the token is compared in
constant time (``hmac.compare_digest``). The API takes no request bodies, so anything larger than
``max_body`` bytes is refused with 413 before it is read.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths answered without a token (load balancers and orchestrators probe them).
PUBLIC_PATHS = frozenset({"/health"})
#: The API reads no body; this bounds what a client may send anyway.
MAX_BODY = 1024


class TokenAuth:
    """Wraps an ASGI app: 401 without the right bearer token (except ``PUBLIC_PATHS``), 413 for large bodies."""

    def __init__(self, app: ASGIApp, token: str | None, *, max_body: int = MAX_BODY) -> None:
        if token is not None and not token.strip():
            raise ValueError("the API token is empty")
        self.app = app
        self._token = None if token is None else token.strip().encode()
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_body or b"chunked" in headers.get(b"transfer-encoding", b""):
            await _reply(send, 413, {"error": f"request bodies are limited to {self.max_body} bytes"})
            return
        if self._token is not None and scope.get("path") not in PUBLIC_PATHS and not self._authorized(headers):
            await _reply(
                send,
                401,
                {"error": "missing or wrong bearer token"},
                [(b"www-authenticate", b'Bearer realm="sessionkv"')],
            )
            return
        await self.app(scope, receive, send)

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        scheme, _, presented = headers.get(b"authorization", b"").partition(b" ")
        assert self._token is not None
        return scheme.lower() == b"bearer" and hmac.compare_digest(presented.strip(), self._token)


async def _reply(send: Send, status: int, body: dict[str, str], extra: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
