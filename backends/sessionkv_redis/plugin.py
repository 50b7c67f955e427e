"""Entry-point plugin for the redis backend; light: never imports the client library."""

from sessionkv import BackendSpec, hookimpl


@hookimpl
def sessionkv_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            schemes=("redis", "rediss", "unix", "redis+cluster", "redis+sentinel"),
            store="sessionkv_redis.store:RedisStore",
            requires=("redis",),
            install='pip install "sessionkv[redis]"',
            extra="redis",
            description="Redis, Redis Cluster and Redis Sentinel (redis-py asyncio)",
        )
    ]
