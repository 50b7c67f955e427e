"""Which attempts of a DynamoDB call botocore retried after they may have reached the table.

botocore retries a request whose reply was lost (read timeout, dropped connection, 5xx). A
conditional write's first attempt may then have been applied, and its retry fails its own
condition: "refused" would be a lie. ``watch_retries`` hooks botocore's ``needs-retry`` event on a
client; inside ``retry_log()`` each attempt of the calls made by the current task is recorded as
``True`` when it may have been applied (anything but an error reply or a connection never made).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiohttp
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError  # type: ignore[import-untyped]

_LOG: ContextVar[list[bool] | None] = ContextVar("sessionkv_dynamodb_retry_log", default=None)


def may_have_applied(response: Any, caught_exception: BaseException | None) -> bool:
    """Whether an attempt that ended with ``response`` (``(http_response, parsed)``) or an exception may have
    been applied: only an error reply (4xx: throttling, validation, a failed condition) or a connection
    that was never established prove it was not."""
    if response is not None:
        status = int(getattr(response[0], "status_code", 0))
        return not 400 <= status < 500
    if isinstance(caught_exception, ConnectTimeoutError):
        return False
    if isinstance(caught_exception, EndpointConnectionError):
        return not isinstance(caught_exception.kwargs.get("error"), aiohttp.ClientConnectorError)
    return True


def _record(response: Any = None, caught_exception: BaseException | None = None, **_: Any) -> None:
    log = _LOG.get()
    if log is not None:
        log.append(may_have_applied(response, caught_exception))


def watch_retries(client: Any) -> None:
    """Record every attempt of ``client``'s DynamoDB calls made inside ``retry_log()`` (decides nothing)."""
    client.meta.events.register("needs-retry.dynamodb", _record, unique_id="sessionkv-retry-log")


@contextmanager
def retry_log() -> Iterator[list[bool]]:
    """A list filled, for the calls this task makes in the block, with one entry per attempt (see module doc).

    The last attempt is recorded too (as a failed condition: ``False``), so ``any(log)`` tells whether
    an EARLIER attempt may have been applied.
    """
    log: list[bool] = []
    token = _LOG.set(log)
    try:
        yield log
    finally:
        _LOG.reset(token)
