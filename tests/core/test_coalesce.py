"""``sessionkv.coalesce.Coalescer`` with a recording sender: what leaves as one batch, and what stays per call.

The sender is a fake (the generic part has no server); backends prove the same on real servers
(tests/backends/test_memcached_coalesce.py). Every figure is counted (batches, requests), none timed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from sessionkv.coalesce import Coalescer, Failed

pytestmark = pytest.mark.asyncio


class Sender:
    """Records each batch; answers ``request * 10``, ``Failed`` for negative requests; can be held on a gate."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.raise_next: BaseException | None = None
        self.cancelled = 0

    async def __call__(self, requests: list[int]) -> Sequence[int | Failed]:
        self.batches.append(list(requests))
        self.entered.set()
        if self.gate is not None:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        if self.raise_next is not None:
            error, self.raise_next = self.raise_next, None
            raise error
        return [Failed(ValueError(f"bad {r}")) if r < 0 else r * 10 for r in requests]


async def test_calls_of_one_tick_leave_as_one_batch_in_order() -> None:
    sender = Sender()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=4)
    assert await asyncio.gather(*(coalescer.submit(i) for i in range(10))) == [i * 10 for i in range(10)]
    assert sender.batches == [list(range(10))]
    assert (coalescer.batches, coalescer.requests) == (1, 10)


async def test_a_lone_call_goes_alone_and_each_tick_is_its_own_batch() -> None:
    sender = Sender()
    coalescer: Coalescer[int, int] = Coalescer(sender)
    assert await coalescer.submit(1) == 10
    assert await coalescer.submit(2) == 20
    assert sender.batches == [[1], [2]]


async def test_calls_arriving_while_every_slot_is_out_form_the_next_batch() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=1)
    first = asyncio.ensure_future(coalescer.submit(0))
    await sender.entered.wait()
    later = [asyncio.ensure_future(coalescer.submit(i)) for i in range(1, 6)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert sender.batches == [[0]] and coalescer.inflight == 1  # nothing else left while the slot was out
    sender.gate.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [10, 20, 30, 40, 50]
    assert sender.batches == [[0], [1, 2, 3, 4, 5]]


async def test_max_batch_splits_a_queue() -> None:
    sender = Sender()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=8, max_batch=4)
    await asyncio.gather(*(coalescer.submit(i) for i in range(10)))
    assert sender.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_a_failed_outcome_raises_in_its_caller_only() -> None:
    sender = Sender()
    coalescer: Coalescer[int, int] = Coalescer(sender)
    outcomes = await asyncio.gather(*(coalescer.submit(i) for i in (1, -2, 3)), return_exceptions=True)
    assert outcomes[0] == 10 and outcomes[2] == 30
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "bad -2"
    assert len(sender.batches) == 1


async def test_a_raised_send_fails_its_batch_only() -> None:
    sender = Sender()
    sender.raise_next = ConnectionResetError("lost")
    coalescer: Coalescer[int, int] = Coalescer(sender)
    failed = await asyncio.gather(*(coalescer.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionResetError) for outcome in failed)
    assert await asyncio.gather(*(coalescer.submit(i) for i in range(3))) == [0, 10, 20]
    assert coalescer.inflight == 0 and len(sender.batches) == 2


async def test_a_send_with_the_wrong_number_of_outcomes_fails_its_batch() -> None:
    async def short(requests: list[int]) -> list[int]:
        return requests[:-1]

    coalescer: Coalescer[int, int] = Coalescer(short)
    outcomes = await asyncio.gather(coalescer.submit(1), coalescer.submit(2), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) and "1 outcomes for 2 requests" in str(o) for o in outcomes)


async def test_a_call_cancelled_before_its_batch_leaves_is_left_out() -> None:
    sender = Sender()
    coalescer: Coalescer[int, int] = Coalescer(sender)
    tasks = [asyncio.ensure_future(coalescer.submit(i)) for i in range(4)]
    await asyncio.sleep(0)  # every task queued its request; the flush runs on the next callback round
    tasks[1].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[1], asyncio.CancelledError)
    assert [done[0], done[2], done[3]] == [0, 20, 30]
    assert sender.batches == [[0, 2, 3]] and coalescer.requests == 3


async def test_a_call_cancelled_in_flight_leaves_its_batch_and_neighbours_undisturbed() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender)
    tasks = [asyncio.ensure_future(coalescer.submit(i)) for i in range(3)]
    await sender.entered.wait()
    tasks[0].cancel()
    await asyncio.sleep(0)
    assert tasks[0].cancelled()  # the caller is free at once, without waiting for the batch
    assert not tasks[1].done() and sender.cancelled == 0  # the batch goes on
    sender.gate.set()
    assert list(await asyncio.gather(tasks[1], tasks[2])) == [10, 20]
    assert sender.batches == [[0, 1, 2]] and sender.cancelled == 0


async def test_a_caller_timing_out_does_not_fail_or_wait_for_the_others() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender)

    async def impatient() -> int:
        async with asyncio.timeout(0):  # expires at the first suspension: counted, not timed
            return await coalescer.submit(7)

    patient = asyncio.ensure_future(coalescer.submit(1))
    with pytest.raises(TimeoutError):
        await impatient()
    assert not patient.done()
    sender.gate.set()
    assert await patient == 10
    assert sender.batches == [[1]]  # the timed-out call was out before its batch left


async def test_a_caller_timing_out_in_flight_leaves_the_batch_to_finish() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender)
    entered = sender.entered

    async def impatient() -> int:
        async with asyncio.timeout(None) as window:
            call = asyncio.ensure_future(coalescer.submit(7))
            await entered.wait()
            window.reschedule(asyncio.get_running_loop().time())  # times out now, with its batch in flight
            return await call

    patient = asyncio.ensure_future(coalescer.submit(1))
    with pytest.raises(TimeoutError):
        await impatient()
    sender.gate.set()
    assert await patient == 10
    assert sender.batches == [[1, 7]] and sender.cancelled == 0


async def test_drain_waits_for_queued_and_sent_batches() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=1)
    calls = [asyncio.ensure_future(coalescer.submit(i)) for i in range(3)]
    await sender.entered.wait()
    late = asyncio.ensure_future(coalescer.submit(9))
    draining = asyncio.ensure_future(coalescer.drain())
    await asyncio.sleep(0)
    assert not draining.done()
    sender.gate.set()
    await draining
    assert all(call.done() for call in [*calls, late]) and coalescer.inflight == 0
    assert sender.batches == [[0, 1, 2], [9]]


async def test_sizes_below_one_are_refused() -> None:
    sender = Sender()
    with pytest.raises(ValueError, match="at least 1"):
        Coalescer(sender, max_inflight=0)
    with pytest.raises(ValueError, match="at least 1"):
        Coalescer(sender, max_batch=0)
