"""Periodic: the housekeeping loop of backends keeps going when its action fails, and stops cleanly."""

from __future__ import annotations

import asyncio

import pytest

from sessionkv import Periodic

pytestmark = pytest.mark.asyncio


async def test_a_failing_action_does_not_end_the_loop_and_stop_is_idempotent() -> None:
    calls: list[int] = []
    four = asyncio.Event()

    async def flaky() -> None:
        calls.append(len(calls))
        if len(calls) == 4:
            four.set()
        if len(calls) % 2:
            raise OSError("server away")

    loop = Periodic(0.005, flaky, "test housekeeping")
    loop.start()
    loop.start()  # a second start does not add a second loop
    await asyncio.wait_for(four.wait(), 5)  # the failures in calls 1 and 3 did not end the loop
    await loop.stop()
    assert not loop.running
    stopped_at = len(calls)
    await asyncio.sleep(0.03)
    assert len(calls) == stopped_at  # nothing runs after stop
    await loop.stop()
