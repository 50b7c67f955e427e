"""The HTTP operator API (extra ``sessionkv[http]``: Starlette + uvicorn); not imported by ``sessionkv``."""

from .app import create_app

__all__ = ["create_app"]
