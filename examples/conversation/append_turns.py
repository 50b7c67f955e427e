"""Two (or more) processes append turns to one conversation through ``Documents.update``; nothing is lost.

This is the race stateful agents hit when they scale: two requests of one conversation land on two
nodes, both load ``[A, B]``, one saves ``[A, B, C]``, the other ``[A, B, D]``, and C is lost.
``Documents.update`` re-reads and retries when someone saved in between, so every turn survives.

    python examples/conversation/append_turns.py redis://127.0.0.1:6379/0 --processes 2 --turns 50
    python examples/conversation/append_turns.py etcd://127.0.0.1:2379 --processes 2 --turns 50

It prints the conversation's length and whether any turn is missing, and exits 1 if one is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import uuid
from collections.abc import Callable

from sessionkv import Documents, open_store

TTL = 600.0


def add_turn(turn: str) -> Callable[[bytes | None], bytes]:
    """``fn`` for ``Documents.update``: the conversation (a JSON list of turns) with ``turn`` appended."""

    def append(current: bytes | None) -> bytes:
        turns = json.loads(current) if current is not None else []
        turns.append(turn)
        return json.dumps(turns).encode()

    return append


async def writer(url: str, namespace: str, name: str, turns: int) -> None:
    """One process: append ``turns`` turns named ``name-i``, a few at a time concurrently."""
    async with open_store(url, namespace=namespace) as store:
        docs = Documents(store, "conversations/")

        async def one(i: int) -> None:
            await docs.update("demo", add_turn(f"{name}-{i}"), TTL, retries=1000)

        for start in range(0, turns, 4):
            await asyncio.gather(*(one(i) for i in range(start, min(start + 4, turns))))


def run_writer(url: str, namespace: str, name: str, turns: int) -> None:
    asyncio.run(writer(url, namespace, name, turns))


async def read_back(url: str, namespace: str) -> list[str]:
    async with open_store(url, namespace=namespace) as store:
        value, _ = await Documents(store, "conversations/").load("demo")
        await store.delete(await store.keys(""))
        return json.loads(value) if value is not None else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="store URL, e.g. redis://127.0.0.1:6379/0 or etcd://127.0.0.1:2379")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--turns", type=int, default=50, help="turns each process appends")
    args = parser.parse_args(argv)
    namespace = f"conversation-example-{uuid.uuid4().hex[:8]}:"
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(target=run_writer, args=(args.url, namespace, f"p{n}", args.turns))
        for n in range(args.processes)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    if any(proc.exitcode != 0 for proc in procs):
        print("a writer process failed", file=sys.stderr)
        return 1
    turns = asyncio.run(read_back(args.url, namespace))
    expected = {f"p{n}-{i}" for n in range(args.processes) for i in range(args.turns)}
    missing = expected - set(turns)
    repeated = len(turns) - len(set(turns))
    print(f"{len(turns)} turns stored, {len(expected)} appended, {len(missing)} missing, {repeated} repeated")
    return 0 if not missing and len(turns) == len(expected) else 1


if __name__ == "__main__":
    sys.exit(main())
