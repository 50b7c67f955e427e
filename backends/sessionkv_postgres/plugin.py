"""Entry-point plugin for the PostgreSQL backend; light: never imports the client library."""

from sessionkv import BackendSpec, hookimpl


@hookimpl
def sessionkv_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            schemes=("postgresql", "postgres"),
            store="sessionkv_postgres.store:PostgresStore",
            requires=("asyncpg",),
            install='pip install "sessionkv[postgres]"',
            extra="postgres",
            description="PostgreSQL (one table, asyncpg pool; expiry on the server's clock, versions from a sequence)",
        )
    ]
