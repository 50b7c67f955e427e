"""Entry-point plugin for the etcd backend; light: never imports the client library."""

from sessionkv import BackendSpec, hookimpl


@hookimpl
def sessionkv_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            schemes=("etcd",),
            store="sessionkv_etcd.store:EtcdStore",
            requires=("etcd3",),
            install='pip install "sessionkv[etcd]"',
            extra="etcd",
            description="etcd v3 (etcd3-py)",
            ready=False,
        )
    ]
