"""Fault injection for DynamoDB tests: spies that wrap the real client, never a mock of the service.

``partial_batches`` sends only part of each batch to the real service and reports the rest as
unprocessed (what AWS does under throttling); ``throttle`` answers HTTP requests with AWS's
throttling error before they leave, so botocore's own retry logic runs; ``lose_replies`` makes
botocore retry requests the service already applied, as when a reply is lost; ``count_calls``
records every API call the client makes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiobotocore.awsrequest import AioAWSResponse


@dataclass
class CallLog:
    """API calls a client made (by operation name) and the parameters of each."""

    counts: Counter[str] = field(default_factory=Counter)
    params: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [p for name, p in self.params if name == operation]


def count_calls(client: Any) -> CallLog:
    """Record every API call ``client`` makes from now on (a botocore event hook: requests still go out)."""
    log = CallLog()

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        log.counts[model.name] += 1
        log.params.append((model.name, params))

    client.meta.events.register("before-parameter-build.dynamodb", record)
    return log


def partial_batches(monkeypatch: pytest.MonkeyPatch, client: Any, *, times: int = 1, keep: int = 1) -> Counter[str]:
    """For the next ``times`` batch calls, send only ``keep`` entries per table; the rest come back unprocessed."""
    left = {"n": times}
    calls: Counter[str] = Counter()

    def spy(name: str, real: Callable[..., Any], unprocessed_key: str, entries: Callable[[Any], list[Any]]) -> Any:
        async def wrapper(**kwargs: Any) -> Any:
            calls[name] += 1
            if left["n"] <= 0:
                return await real(**kwargs)
            left["n"] -= 1
            ((table, request),) = kwargs["RequestItems"].items()
            items = entries(request)
            sent, held = items[:keep], items[keep:]
            reply: dict[str, Any] = {}
            if sent:
                reply = await real(**{**kwargs, "RequestItems": {table: _replace(request, sent)}})
            if held:
                reply[unprocessed_key] = {table: _replace(request, held)}
            return reply

        return wrapper

    monkeypatch.setattr(
        client,
        "batch_write_item",
        spy("batch_write_item", client.batch_write_item, "UnprocessedItems", lambda request: list(request)),
    )
    monkeypatch.setattr(
        client,
        "batch_get_item",
        spy("batch_get_item", client.batch_get_item, "UnprocessedKeys", lambda request: list(request["Keys"])),
    )
    return calls


def _replace(request: Any, entries: list[Any]) -> Any:
    if isinstance(request, list):
        return entries
    return {**request, "Keys": entries}


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def read(self) -> bytes:
        return self.body


def throttle(client: Any, operation: str, *, times: int) -> Counter[str]:
    """Answer the next ``times`` HTTP requests of ``operation`` with ``ProvisionedThroughputExceededException``.

    Returns a counter of attempts (``"throttled"`` and ``"sent"``): botocore sees a real 400 reply and retries it.
    """
    attempts: Counter[str] = Counter()
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "injected: the level of configured provisioned throughput for the table was exceeded",
        }
    ).encode()

    def before_send(request: Any, **_: Any) -> Any:
        if attempts["throttled"] >= times:
            attempts["sent"] += 1
            return None
        attempts["throttled"] += 1
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "injected"}
        return AioAWSResponse(request.url, 400, headers, _Body(body))

    client.meta.events.register(f"before-send.dynamodb.{operation}", before_send)
    return attempts


def lose_replies(
    client: Any, operation: str, *, times: int = 1, between: Callable[[], Awaitable[None]] | None = None
) -> Counter[str]:
    """Treat the next ``times`` successful replies of ``operation`` as lost: botocore sends the request again.

    The first attempt really was applied by the service (what a read timeout after the write looks
    like). ``between`` runs before each resend (e.g. another client writing the same key meanwhile).
    Returns a counter of ``"lost"`` replies.
    """
    lost: Counter[str] = Counter()

    async def needs_retry(response: Any = None, **_: Any) -> int | None:
        if response is None or response[0].status_code != 200 or lost["lost"] >= times:
            return None
        lost["lost"] += 1
        if between is not None:
            await between()
        return 0  # retry at once

    client.meta.events.register(f"needs-retry.dynamodb.{operation}", needs_retry)
    return lost
