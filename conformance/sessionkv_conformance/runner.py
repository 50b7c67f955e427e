"""The suite's own async support: one event loop per test, shared by async fixtures and the test body.

Suite tests are written ``async def`` but exposed to pytest as plain functions that run their
coroutine on the test's ``sessionkv_loop``; the plugin runs async fixtures of the same tests on
that loop. So no async plugin is needed, and none (pytest-asyncio strict/auto, anyio) takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

#: user_properties keys the suite writes on each test (read by the report)
AREA_PROPERTY = "sessionkv_area"
ADAPTED_PROPERTY = "sessionkv_adapted"
BACKEND_PROPERTY = "sessionkv_backend"
#: marks a class attribute as the suite's, so the plugin knows which tests it runs
SUITE_FLAG = "__sessionkv_conformance__"
LOOP_FIXTURE = "sessionkv_loop"

_current: contextvars.ContextVar[TestLoop | None] = contextvars.ContextVar("sessionkv_current_test", default=None)


class TestLoop:
    """One test's event loop (an ``asyncio.Runner``) plus the test item it serves."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, node: pytest.Item) -> None:
        self.node = node
        self.runner = asyncio.Runner()
        self.context = contextvars.copy_context()
        self.context.run(_current.set, self)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to completion on this test's loop, in the test's context."""
        return self.runner.run(coro, context=self.context)

    def close(self) -> None:
        self.runner.close()

    def adapted(self, reason: str) -> None:
        self.node.user_properties.append((ADAPTED_PROPERTY, reason))


@contextlib.contextmanager
def test_loop(node: pytest.Item) -> Iterator[TestLoop]:
    """A fresh loop for ``node``, closed (pending tasks cancelled) at the end."""
    loop = TestLoop(node)
    try:
        yield loop
    finally:
        loop.close()


def adapted(reason: str) -> None:
    """Record, in the running conformance test, that it adapted to a declared capability and why.

    The reason shows in the certification report and the pytest terminal summary; it never
    turns a test into a skip.
    """
    loop = _current.get()
    if loop is None:
        raise RuntimeError("adapted() can only be called inside a running conformance test")
    loop.adapted(reason)


def is_async(func: object) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)


AsyncTest = Callable[..., Awaitable[None]]


def sync_test(func: AsyncTest, *, area: str | None, suite: bool) -> Callable[..., None]:
    """Expose ``async def test_x(self, ...)`` to pytest as a plain function run on ``sessionkv_loop``.

    Suite tests (``suite=True``) also check that the ``store`` fixture is empty before the body
    and delete what the body wrote after it, so a backend without per-test namespaces still works.
    """
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    pops_loop = LOOP_FIXTURE not in signature.parameters
    if pops_loop:
        params.append(inspect.Parameter(LOOP_FIXTURE, inspect.Parameter.KEYWORD_ONLY))

    def test(*args: Any, **kwargs: Any) -> None:
        loop: TestLoop = kwargs.pop(LOOP_FIXTURE) if pops_loop else kwargs[LOOP_FIXTURE]
        if area is not None:
            loop.node.user_properties.append((AREA_PROPERTY, area))
        store = kwargs.get("store")
        loop.run(_run_body(func, args, kwargs, store if suite else None, loop))

    functools.update_wrapper(test, func)
    vars(test).pop("__wrapped__")  # pytest must see the sync function, not unwrap to the coroutine
    test.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    if area is not None:
        test = pytest.mark.sessionkv_area(area)(test)
    return test


async def _run_body(func: AsyncTest, args: tuple[Any, ...], kwargs: dict[str, Any], store: Any, loop: TestLoop) -> None:
    if store is not None:
        loop.node.user_properties.append((BACKEND_PROPERTY, describe_store(store)))
        leftover = await store.keys("")
        if leftover:
            pytest.fail(
                f"the store fixture must yield an empty store (its own namespace); it already holds "
                f"{len(leftover)} key(s), e.g. {sorted(leftover)[:3]!r}",
                pytrace=False,
            )
    try:
        await func(*args, **kwargs)
    finally:
        if store is not None:
            await clear_namespace(store)


async def clear_namespace(store: Any) -> None:
    """Delete whatever a test left in the store's namespace; a failure only warns (cleanup is best effort)."""
    try:
        left = await store.keys("")
        if left:
            await store.delete(left)
    except Exception as exc:
        warnings.warn(f"sessionkv conformance: could not clean up {type(store).__name__}: {exc}", stacklevel=2)


def describe_store(store: Any) -> str:
    """``ClassName`` plus its declared capabilities, for the report header."""
    caps = getattr(store, "capabilities", None)
    return f"{type(store).__module__}.{type(store).__qualname__} {caps!r}"


def wrap_async_tests(cls: type, *, area: str | None, suite: bool) -> None:
    """Replace every ``async def test_*`` defined directly on ``cls`` by its sync runner."""
    for name, value in list(vars(cls).items()):
        if name.startswith("test") and inspect.iscoroutinefunction(value):
            setattr(cls, name, sync_test(value, area=area, suite=suite))


def area(name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: the class's async tests belong to report area ``name``."""

    def decorate(cls: type[T]) -> type[T]:
        wrap_async_tests(cls, area=name, suite=True)
        return cls

    return decorate
