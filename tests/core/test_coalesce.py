"""``sessionkv.coalesce.Coalescer`` with a recording sender: what leaves as one batch, and what stays per call.

The sender is a fake that suspends once per batch, as a round trip would (the generic part has no
server); backends prove the same on real servers
(tests/backends/test_memcached_coalesce.py). Every figure is counted (batches, requests), none timed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from sessionkv.coalesce import Coalescer, Failed

pytestmark = pytest.mark.asyncio


class Sender:
    """Records each batch; answers ``request * 10``, ``Failed`` for negative requests; raises for a batch holding
    ``POISON``; can be held on a gate. It always suspends once (as a round trip would) before answering."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        #: set once a second batch came in (the first is usually a lone call)
        self.second = asyncio.Event()
        self.cancelled = 0

    async def __call__(self, requests: list[int]) -> Sequence[int | Failed]:
        self.batches.append(list(requests))
        self.entered.set()
        if len(self.batches) >= 2:
            self.second.set()
        try:
            await asyncio.sleep(0)
            if self.gate is not None:
                await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if POISON in requests:
            raise ConnectionResetError("lost")
        return [Failed(ValueError(f"bad {r}")) if r < 0 else r * 10 for r in requests]


POISON = 99


async def test_a_lone_call_goes_at_once_and_the_rest_of_its_tick_as_one_batch() -> None:
    sender = Sender()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=4)
    assert await asyncio.gather(*(coalescer.submit(i) for i in range(10))) == [i * 10 for i in range(10)]
    assert sender.batches == [[0], list(range(1, 10))]
    assert (coalescer.batches, coalescer.requests) == (2, 10)


async def test_one_call_at_a_time_goes_alone_each_time() -> None:
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
    assert sender.batches == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]


async def test_a_failed_outcome_raises_in_its_caller_only() -> None:
    sender = Sender()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=2)
    outcomes = await asyncio.gather(*(coalescer.submit(i) for i in (0, 1, -2, 3)), return_exceptions=True)
    assert sender.batches == [[0], [1, -2, 3]]
    assert [outcomes[0], outcomes[1], outcomes[3]] == [0, 10, 30]
    assert isinstance(outcomes[2], ValueError) and str(outcomes[2]) == "bad -2"
    with pytest.raises(ValueError, match="bad -5"):
        await coalescer.submit(-5)  # alone, in its own task: raised there too


async def test_a_raised_send_fails_its_batch_only() -> None:
    sender = Sender()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=2)
    outcomes = await asyncio.gather(*(coalescer.submit(i) for i in (0, 1, POISON, 2)), return_exceptions=True)
    assert sender.batches == [[0], [1, POISON, 2]]
    assert outcomes[0] == 0 and all(isinstance(outcome, ConnectionResetError) for outcome in outcomes[1:])
    assert await asyncio.gather(*(coalescer.submit(i) for i in range(3))) == [0, 10, 20]
    assert coalescer.inflight == 0


async def test_a_send_with_the_wrong_number_of_outcomes_fails_its_batch() -> None:
    async def short(requests: list[int]) -> list[int]:
        await asyncio.sleep(0)
        return requests[:-1]

    coalescer: Coalescer[int, int] = Coalescer(short, max_inflight=2)
    outcomes = await asyncio.gather(*(coalescer.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert "0 outcomes for 1 requests" in str(outcomes[0]) and "1 outcomes for 2 requests" in str(outcomes[1])


async def test_send_one_carries_a_lone_call_and_send_the_batches() -> None:
    sender = Sender()
    alone: list[int] = []

    async def send_one(request: int) -> int | Failed:
        alone.append(request)
        await asyncio.sleep(0)
        return Failed(ValueError("odd")) if request % 2 else -request

    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=2, send_one=send_one)
    assert await asyncio.gather(*(coalescer.submit(i) for i in (4, 5, 6))) == [-4, 50, 60]
    assert alone == [4] and sender.batches == [[5, 6]]
    with pytest.raises(ValueError, match="odd"):
        await coalescer.submit(7)


async def test_a_call_cancelled_before_its_batch_leaves_is_left_out() -> None:
    sender = Sender()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=2)
    tasks = [asyncio.ensure_future(coalescer.submit(i)) for i in range(4)]
    await asyncio.sleep(0)  # every task queued its request; the batch leaves on the next callback round
    tasks[2].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[2], asyncio.CancelledError)
    assert [done[0], done[1], done[3]] == [0, 10, 30]
    assert sender.batches == [[0], [1, 3]] and coalescer.requests == 3


async def test_a_call_cancelled_in_flight_leaves_its_batch_and_neighbours_undisturbed() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=2)
    tasks = [asyncio.ensure_future(coalescer.submit(i)) for i in range(3)]
    await sender.second.wait()
    assert sender.batches == [[0], [1, 2]]
    tasks[1].cancel()
    await asyncio.sleep(0)
    assert tasks[1].cancelled()  # the caller is free at once, without waiting for the batch
    assert not tasks[2].done() and sender.cancelled == 0  # the batch goes on
    sender.gate.set()
    assert list(await asyncio.gather(tasks[0], tasks[2])) == [0, 20]
    assert sender.cancelled == 0


async def test_a_lone_call_cancelled_interrupts_only_its_own_send() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=1)
    lone = asyncio.ensure_future(coalescer.submit(0))
    await sender.entered.wait()
    queued = asyncio.ensure_future(coalescer.submit(1))
    await asyncio.sleep(0)
    lone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await lone
    assert sender.cancelled == 1 and coalescer.inflight in (0, 1)  # the slot is free again (or taken by the next)
    sender.gate.set()
    assert await queued == 10
    assert sender.batches == [[0], [1]] and sender.cancelled == 1


async def test_a_caller_timing_out_before_its_batch_leaves_does_not_fail_or_wait_for_the_others() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=2)
    first = asyncio.ensure_future(coalescer.submit(0))
    await sender.entered.wait()

    async def impatient() -> int:
        async with asyncio.timeout(0):  # expires at the first suspension: counted, not timed
            return await coalescer.submit(7)

    patient = asyncio.ensure_future(coalescer.submit(1))
    with pytest.raises(TimeoutError):
        await impatient()
    assert not patient.done()
    sender.gate.set()
    assert list(await asyncio.gather(first, patient)) == [0, 10]
    assert sender.batches == [[0], [1]]  # the timed-out call was out before its batch left


async def test_a_caller_timing_out_in_flight_leaves_the_batch_to_finish() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=2)
    first = asyncio.ensure_future(coalescer.submit(0))
    await sender.entered.wait()

    async def impatient() -> int:
        async with asyncio.timeout(None) as window:
            call = asyncio.ensure_future(coalescer.submit(7))
            await sender.second.wait()
            window.reschedule(asyncio.get_running_loop().time())  # times out now, with its batch in flight
            return await call

    patient = asyncio.ensure_future(coalescer.submit(1))
    with pytest.raises(TimeoutError):
        await impatient()
    sender.gate.set()
    assert list(await asyncio.gather(first, patient)) == [0, 10]
    assert sender.batches == [[0], [1, 7]] and sender.cancelled == 0


async def test_drain_waits_for_lone_queued_and_sent_batches() -> None:
    sender = Sender()
    sender.gate = asyncio.Event()
    coalescer: Coalescer[int, int] = Coalescer(sender, max_inflight=1)
    calls = [asyncio.ensure_future(coalescer.submit(i)) for i in range(3)]
    await sender.entered.wait()
    late = asyncio.ensure_future(coalescer.submit(9))
    draining = asyncio.ensure_future(coalescer.drain())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not draining.done()  # the lone call is out, the rest queued
    sender.gate.set()
    await draining
    assert all(call.done() for call in [*calls, late]) and coalescer.inflight == 0
    assert sender.batches == [[0], [1, 2, 9]]


async def test_sizes_below_one_are_refused() -> None:
    sender = Sender()
    with pytest.raises(ValueError, match="at least 1"):
        Coalescer(sender, max_inflight=0)
    with pytest.raises(ValueError, match="at least 1"):
        Coalescer(sender, max_batch=0)
