"""Entry-point plugin for the memcached backend; light: never imports the client library."""

from sessionkv import BackendSpec, hookimpl


@hookimpl
def sessionkv_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            schemes=("memcached",),
            store="sessionkv_memcached.store:MemcachedStore",
            requires=("aiomcache",),
            install='pip install "sessionkv[memcached]"',
            extra="memcached",
            description="memcached (aiomcache)",
        )
    ]
