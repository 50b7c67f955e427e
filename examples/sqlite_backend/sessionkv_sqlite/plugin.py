"""Entry-point plugin for ``sqlite://``: declares the backend without importing the store module."""

from sessionkv import BackendSpec, hookimpl


@hookimpl
def sessionkv_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            schemes=("sqlite",),
            store="sessionkv_sqlite.store:SQLiteStore",
            install='pip install "sessionkv-sqlite"',
            description="a SQLite file (example out-of-tree backend): sqlite:///abs/path.db",
        )
    ]
