"""Entry-point plugin for the etcd backend; light: never imports the client library."""

from sessionkv import BackendSpec, hookimpl


@hookimpl
def sessionkv_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            schemes=("etcd", "etcds"),
            store="sessionkv_etcd.store:EtcdStore",
            requires=("aiohttp",),
            install='pip install "sessionkv[etcd]"',
            extra="etcd",
            description="etcd v3 (leases and transactions over the v3 JSON gateway; several endpoints, TLS)",
        )
    ]
