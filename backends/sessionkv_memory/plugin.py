"""Entry-point plugin for ``memory://``; light, so listing backends imports nothing else."""

from sessionkv import BackendSpec, hookimpl


@hookimpl
def sessionkv_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            schemes=("memory",),
            store="sessionkv_memory.store:MemoryStore",
            description="in-process dict; memory://NAME shares one store per NAME within a process",
            process_local=True,
        )
    ]
