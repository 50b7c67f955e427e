"""``cancel_and_wait`` stops a task whose first cancellation was lost, as Python 3.11's ``wait_for`` can lose one."""

from __future__ import annotations

import asyncio

import pytest

from sessionkv.cancelling import cancel_and_wait
from sessionkv.periodic import Periodic

pytestmark = pytest.mark.asyncio


async def swallows_first_cancel(cancels: list[int]) -> None:
    """A loop whose first cancellation is lost (as when ``wait_for``'s inner call finishes at that moment)."""
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            cancels.append(1)
            if len(cancels) > 1:
                raise
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()  # lost: the loop goes on


async def test_a_lost_cancel_is_repeated_until_the_task_ends() -> None:
    cancels: list[int] = []
    task = asyncio.create_task(swallows_first_cancel(cancels))
    await asyncio.sleep(0.02)
    await asyncio.wait_for(cancel_and_wait(task, every=0.02), 5)
    assert task.cancelled() and len(cancels) == 2


async def test_a_plain_cancel_and_wait_would_hang_on_it() -> None:
    """The bug this guards against: one cancel, then ``await task``, never returns."""
    task = asyncio.create_task(swallows_first_cancel([]))
    await asyncio.sleep(0.02)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=0.2)
    assert not done
    await cancel_and_wait(task)


async def test_other_exceptions_are_raised_and_none_is_a_no_op() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="boom"):
        await cancel_and_wait(task)
    await cancel_and_wait(None)


async def test_periodic_stops_although_its_first_cancel_is_lost() -> None:
    cancels: list[int] = []

    async def action() -> None:
        await swallows_first_cancel(cancels)

    loop = Periodic(0.001, action, "lossy")
    loop.start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(loop.stop(), 5)
    assert len(cancels) == 2 and not loop.running
