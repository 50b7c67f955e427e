"""An ASGI app (Starlette) to list, inspect and close sessions of any node, plus ``/health``.

Routes (ids in paths are percent-encoded path segments, so they may contain ``/``)::

    GET    /sessions[?call=ID]          live sessions, optionally of one call
    GET    /sessions/{call}/{session}   one session (404 if not live)
    DELETE /sessions/{call}/{session}   request its close from whichever node runs it (202)
    GET    /nodes                       live nodes with their session counts
    GET    /health                      200, or 503 if the store does not answer or maintenance is stale
    GET    /metrics                     sessionkv's metrics, Prometheus text format (``sessionkv.http.metrics``)

Any other path answers 404 and a wrong method 405, as JSON ``{"error": ...}`` like the rest.
With a ``token``, every route but ``/health`` requires ``Authorization: Bearer <token>``
(``sessionkv.http.auth``).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..registry import SessionNode, SessionRegistry
from ..url import redact
from .auth import TokenAuth
from .metrics import INSTALL_HINT as METRICS_HINT
from .metrics import PrometheusMetrics

SESSIONS_PATH = "/sessions/"


def create_app(
    registry: SessionRegistry,
    *,
    node: SessionNode | None = None,
    store_timeout: float = 2.0,
    token: str | None = None,
    metrics: PrometheusMetrics | None = None,
) -> TokenAuth:
    """The operator API over ``registry`` (started by the caller); ``node``'s loop staleness feeds ``/health``.

    ``token``: the bearer token every route but ``/health`` requires (``None``: no authentication).
    ``metrics``: what ``GET /metrics`` renders (``None``: it answers 503 saying what to install).
    """

    async def list_sessions(request: Request) -> JSONResponse:
        call_id = request.query_params.get("call")
        if call_id == "":
            return _error(400, "call must be a non-empty id")
        found = await registry.get_for_call(call_id) if call_id is not None else await registry.list_sessions()
        return JSONResponse([info.to_dict() for info in found])

    async def one_session(request: Request) -> JSONResponse:
        ids = session_ids(request)
        if ids is None:
            return _error(404, "expected /sessions/{call}/{session} with percent-encoded, non-empty ids")
        call_id, session_id = ids
        info = await registry.get(call_id, session_id)
        if info is None:
            return _error(404, f"no live session {session_id!r} in call {call_id!r}")
        if request.method == "DELETE":
            if not await registry.request_close(call_id, session_id):
                return _error(404, f"no live session {session_id!r} in call {call_id!r}")
            body = {"close_requested": True, "call_id": call_id, "session_id": session_id, "node_id": info.node_id}
            return JSONResponse(body, status_code=202)
        return JSONResponse(info.to_dict())

    async def list_nodes(request: Request) -> JSONResponse:
        return JSONResponse([node_info.to_dict() for node_info in await registry.nodes()])

    async def health(request: Request) -> JSONResponse:
        body: dict[str, Any] = {"node_id": registry.node_id}
        healthy = True
        try:
            await asyncio.wait_for(registry.ping(), timeout=store_timeout)
            body["store"] = "ok"
        except Exception as exc:  # any failure to answer is unhealthy, never a 500
            healthy = False
            body["store"] = redact(f"{type(exc).__name__}: {exc}") if str(exc) else type(exc).__name__
        if node is not None:
            age = node.maintenance_age()
            body["maintenance_age"] = None if age is None else round(age, 3)
            body["maintenance_interval"] = node.maintenance_interval
            body["maintenance_stale"] = node.is_stale()
            body["last_error"] = node.last_error
            body["sessions"] = len(node.sessions())
            healthy = healthy and not node.is_stale()
        body["status"] = "ok" if healthy else "unavailable"
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def prometheus(request: Request) -> Response:
        if metrics is None:
            return _error(503, f"metrics are not recorded in this process: {METRICS_HINT}")
        return Response(metrics.render(), media_type=metrics.content_type)

    routes = [
        Route("/sessions", list_sessions, methods=["GET"]),
        Route("/sessions/{rest:path}", one_session, methods=["GET", "DELETE"]),
        Route("/nodes", list_nodes, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    return TokenAuth(Starlette(routes=routes, exception_handlers={HTTPException: _http_error}), token)


def session_ids(request: Request) -> tuple[str, str] | None:
    """``(call_id, session_id)`` from the raw request path, so ``%2F`` inside an id stays inside it."""
    raw: bytes | None = request.scope.get("raw_path")
    if raw is None:
        raw = quote(request.scope["path"]).encode("ascii")
    root = quote(request.scope.get("root_path", "")).encode("ascii")
    if root and raw.startswith(root):
        raw = raw[len(root) :]
    raw = raw.split(b"?", 1)[0]
    if not raw.startswith(SESSIONS_PATH.encode()):
        return None
    parts = raw[len(SESSIONS_PATH) :].split(b"/")
    if len(parts) != 2:
        return None
    try:
        call_id, session_id = (unquote_to_bytes(part).decode("utf-8") for part in parts)
    except UnicodeDecodeError:
        return None
    if not call_id or not session_id:
        return None
    return call_id, session_id


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own answers (unknown route 404, wrong method 405) as JSON, like every other route's."""
    assert isinstance(exc, HTTPException)
    message = "no such route" if exc.status_code == 404 else str(exc.detail)
    response = _error(exc.status_code, f"{message}: {request.method} {request.url.path}")
    response.headers.update(exc.headers or {})
    return response


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
