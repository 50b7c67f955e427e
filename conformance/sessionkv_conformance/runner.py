"""The suite's own async support: one event loop per test, shared by the ``store`` fixture and the test body.

Suite tests are written ``async def`` but exposed to pytest as plain functions that run their
coroutine on the test's ``sessionkv_loop``; the ``store`` fixture starts and closes the store on
that same loop. So no async plugin is needed, and none (pytest-asyncio strict/auto, anyio) takes
them. Only public pytest API is used: fixtures, marks and ``__wrapped__`` (so pytest's traceback
starts at the test itself, not at the runner).
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

#: user_properties keys the suite writes on each test (read by the report and the pytest summary)
AREA_PROPERTY = "sessionkv_area"
ADAPTED_PROPERTY = "sessionkv_adapted"
BACKEND_PROPERTY = "sessionkv_backend"
STORE_NOTE_PROPERTY = "sessionkv_store_note"
#: what the listing-cost check found: the declared ``directory_listing``, then the entries each listing examined
LISTING_PROPERTY = "sessionkv_directory_listing"
LISTING_COST_PROPERTY = "sessionkv_listing_cost"
LOOP_FIXTURE = "sessionkv_loop"
#: a promise the run could not check (e.g. namespace isolation without a namespace): never CERTIFIED then
UNCHECKED_PROPERTY = "sessionkv_unchecked"
#: seconds one step of a test (the fixture's start, the test body, the cleanup) may take before it fails
DEFAULT_DEADLINE = 120.0

#: report areas in display order
AREAS = [
    "TTL",
    "expire & touch",
    "conditional writes",
    "batch ops",
    "listing",
    "delete",
    "keys & values",
    "bad input",
    "limits",
    "concurrency",
    "versioned writes & leases",
    "model",
    "store as written",
]

#: pytest-asyncio warns about a sync test carrying its marker (e.g. a module-wide ``pytestmark``);
#: suite tests are sync for pytest on purpose, so that warning is silenced for them only.
ASYNCIO_MARK_FILTER = "ignore:The test .* is marked with '@pytest.mark.asyncio' but it is not an async function"

_current: contextvars.ContextVar[TestLoop | None] = contextvars.ContextVar("sessionkv_current_test", default=None)


class TestLoop:
    """One test's event loop (an ``asyncio.Runner``) plus the test item it serves."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, node: pytest.Item) -> None:
        self.node = node
        self.runner = asyncio.Runner()
        self.context = contextvars.copy_context()
        self.context.run(_current.set, self)

    def run(self, coro: Coroutine[Any, Any, T], what: str = "the test") -> T:
        """Run ``coro`` on this test's loop, in the test's context, failing it when it outlasts the deadline.

        A store call that never returns fails the test with that message (its traceback shows the
        call) instead of hanging the run; the next test gets a fresh loop.
        """
        __tracebackhide__ = True
        try:
            return self.runner.run(asyncio.wait_for(coro, self.deadline), context=self.context)
        except TimeoutError:
            pytest.fail(
                f"deadline: {what} did not finish within {self.deadline:g} s (a store call never returned; "
                "--sessionkv-deadline sets the limit)",
                pytrace=True,
            )

    @property
    def deadline(self) -> float:
        """Seconds a step may take: ``--sessionkv-deadline``, else ``DEFAULT_DEADLINE``."""
        value = self.node.config.getoption("sessionkv_deadline", None)
        return float(value) if value else DEFAULT_DEADLINE

    def close(self) -> None:
        self.runner.close()

    def record(self, key: str, value: str) -> None:
        """Add ``(key, value)`` to the test's user_properties once (the report and summary read them)."""
        if (key, value) not in self.node.user_properties:
            self.node.user_properties.append((key, value))

    def adapted(self, reason: str) -> None:
        self.record(ADAPTED_PROPERTY, reason)

    def unchecked(self, promise: str) -> None:
        self.record(UNCHECKED_PROPERTY, promise)


@contextlib.contextmanager
def test_loop(node: pytest.Item) -> Iterator[TestLoop]:
    """A fresh loop for ``node``, closed (pending tasks cancelled) at the end."""
    loop = TestLoop(node)
    try:
        yield loop
    finally:
        loop.close()


def current_loop() -> TestLoop | None:
    """The running conformance test's loop, or ``None`` outside one."""
    return _current.get()


def adapted(reason: str) -> None:
    """Record, in the running conformance test, that it adapted to a declared capability and why.

    The reason shows in the certification report and the pytest terminal summary; it never
    turns a test into a skip.
    """
    loop = _current.get()
    if loop is None:
        raise RuntimeError("adapted() can only be called inside a running conformance test")
    loop.adapted(reason)


def unchecked(promise: str) -> None:
    """Record, in the running conformance test, a promise it could not check (also an adaptation).

    The test still passes, but the run's verdict is then never CERTIFIED: the report, the JSON and
    ``sessionkv check``'s exit status (3) name the promise.
    """
    loop = _current.get()
    if loop is None:
        raise RuntimeError("unchecked() can only be called inside a running conformance test")
    loop.adapted(f"not checked: {promise}")
    loop.unchecked(promise)


def record_listing(declared: str, cost: str = "") -> None:
    """Record, in the running conformance test, the declared ``directory_listing`` and what listing cost (for the
    report)."""
    loop = _current.get()
    if loop is None:
        raise RuntimeError("record_listing() can only be called inside a running conformance test")
    loop.record(LISTING_PROPERTY, declared)
    if cost:
        loop.record(LISTING_COST_PROPERTY, cost)


AsyncTest = Callable[..., Awaitable[None]]


def sync_test(func: AsyncTest, *, area: str | None) -> Callable[..., None]:
    """Expose ``async def test_x(self, ...)`` to pytest as a plain function run on ``sessionkv_loop``.

    ``__wrapped__`` points at the coroutine function, so pytest shows its location and cuts a
    failure's traceback at its frame; the explicit ``__signature__`` keeps pytest asking for the
    fixtures of the sync function (the test's own plus the loop).
    """
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    pops_loop = LOOP_FIXTURE not in signature.parameters
    if pops_loop:
        params.append(inspect.Parameter(LOOP_FIXTURE, inspect.Parameter.KEYWORD_ONLY))

    def test(*args: Any, **kwargs: Any) -> None:
        __tracebackhide__ = True
        loop: TestLoop = kwargs.pop(LOOP_FIXTURE) if pops_loop else kwargs[LOOP_FIXTURE]
        if area is not None:
            loop.record(AREA_PROPERTY, area)
        loop.run(func(*args, **kwargs), f"{func.__name__}")  # type: ignore[arg-type]

    functools.update_wrapper(test, func)
    test.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    test = pytest.mark.filterwarnings(ASYNCIO_MARK_FILTER)(test)
    if area is not None:
        test = pytest.mark.sessionkv_area(area)(test)
    return test


def wrap_async_tests(cls: type, *, area: str | None) -> None:
    """Replace every ``async def test_*`` defined directly on ``cls`` by its sync runner."""
    for name, value in list(vars(cls).items()):
        if name.startswith("test") and inspect.iscoroutinefunction(value):
            setattr(cls, name, sync_test(value, area=area))


def area(name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: the class's async tests belong to report area ``name``."""

    def decorate(cls: type[T]) -> type[T]:
        wrap_async_tests(cls, area=name)
        return cls

    return decorate


async def clear_namespace(store: Any) -> None:
    """Delete whatever a test left in the store's namespace; a failure only warns (cleanup is best effort)."""
    try:
        left = await store.keys("")
        if left:
            await store.delete(left)
    except Exception as exc:
        warnings.warn(f"sessionkv conformance: could not clean up {type(store).__name__}: {exc}", stacklevel=2)
