"""etcd: EtcdStore against the bare etcd3-py client (the client the design names) on the same server.

Bare: ``range`` for get and, batched in transactions of 128 ranges, for mget; ``set`` and ``mset``
grant one lease and ``put`` under it (mset: transactions of 128 puts); ``expire`` grants a lease and
moves each key that exists with one compare-and-put transaction per key (etcd has no per-key
condition inside one transaction). Ours reuses recent leases and batches the same way.

Then a contended counter: 16 tasks in 2 processes increment one key with a get_versioned/cas retry
loop, against one uncontended task in rounds alternating with it: increments/s, refused cas calls
per increment, and contended/uncontended throughput.
"""

from __future__ import annotations

import warnings
from typing import Any

from sessionkv import StoreURL
from sessionkv_etcd.store import EtcdStore

from ..contention import add_counter
from ..operations import ALL, PublishedKV
from ..suite import Context, compare_matrix, guarded, ratio_table

TXN_OPS = 128


class BareEtcd:
    """A ``KV`` on etcd3-py's ``AioClient`` with keys ``prefix + key`` (UTF-8 bytes)."""

    supports = ALL

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def _raw(self, key: str) -> bytes:
        return (self.prefix + key).encode()

    async def get(self, key: str) -> object:
        return await self.client.range(self._raw(key))

    async def set(self, key: str, value: bytes, ttl: float) -> object:
        lease = (await self.client.lease_grant(int(ttl))).ID
        return await self.client.put(self._raw(key), value, lease=lease)

    async def mget(self, keys: list[str]) -> object:
        raw = [self._raw(key) for key in keys]
        for start in range(0, len(raw), TXN_OPS):
            ranges = [self.client.range(key, txn_obj=True) for key in raw[start : start + TXN_OPS]]
            await self.client.txn([], ranges, [])
        return None

    async def mset(self, items: list[tuple[str, bytes, float]]) -> object:
        lease = (await self.client.lease_grant(int(items[0][2]))).ID
        for start in range(0, len(items), TXN_OPS):
            chunk = items[start : start + TXN_OPS]
            puts = [self.client.put(self._raw(k), v, lease=lease, txn_obj=True) for k, v, _ in chunk]
            await self.client.txn([], puts, [])
        return None

    async def expire(self, keys: list[str], ttl: float) -> object:
        lease = (await self.client.lease_grant(int(ttl))).ID
        for key in keys:
            raw = self._raw(key)
            exists = {"key": raw, "target": "CREATE", "result": "GREATER", "create_revision": 0}
            put = self.client.put(raw, None, ignore_value=True, lease=lease, txn_obj=True)
            await self.client.txn([exists], [put], [])
        return None


async def run(context: Context) -> None:
    table = ratio_table(
        "etcd: EtcdStore vs bare etcd3-py (same server)",
        "Ours validates input, reuses recent leases and sends transactions of up to 128 operations;",
        "the bare expire is one compare-and-put transaction per key.",
    )
    context.report.tables.append(table)
    url = context.servers.etcd()

    async def measure() -> None:
        from etcd3 import AioClient

        host = StoreURL.parse(url).host
        assert host is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # etcd3-py warns about its own version probe
            client = AioClient(host=host.host, port=host.port or 2379)
        try:
            async with EtcdStore(url, namespace="bench-ours:") as store:
                group = "etcd: ours vs bare etcd3-py"
                await compare_matrix(
                    context, table, group, PublishedKV(store), BareEtcd(client, "bench-bare:"), "etcd3-py"
                )
        finally:
            await client.close()

    await guarded(context, "etcd", table, measure)

    await add_counter(
        context,
        "etcd",
        url,
        "A refused cas still costs etcd a raft commit: under heavy contention a lease serialises writers better.",
    )
