"""One module per backend or topic; ``SUITES`` maps the names ``--only`` accepts to their coroutine."""

from __future__ import annotations

from ..suite import Suite
from . import (
    dynamodb,
    etcd,
    fleet,
    memcached,
    memory,
    otel,
    postgres,
    redis,
    redis_throughput,
    registry,
    soak,
    throughput,
    tiered,
)

SUITES: dict[str, Suite] = {
    "memory": memory.run,
    "redis": redis.run,
    "memcached": memcached.run,
    "etcd": etcd.run,
    "dynamodb": dynamodb.run,
    "postgres": postgres.run,
    "registry": registry.run,
    "fleet": fleet.run,
    "soak": soak.run,
    "tiered": tiered.run,
    "throughput": throughput.run,
    "redis_throughput": redis_throughput.run,
    "otel": otel.run,
}
