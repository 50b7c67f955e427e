"""pytest plugin (entry point ``pytest11``): the suite's options, markers, fixtures and loop hooks.

It runs nothing by itself: it only adds ``--sessionkv-url``, the ``sessionkv_area`` marker, the
``sessionkv_loop``/``sessionkv_url`` fixtures, runs async fixtures of conformance tests on the
test's own loop, and summarises adaptations at the end.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from .runner import ADAPTED_PROPERTY, LOOP_FIXTURE, SUITE_FLAG, TestLoop, is_async, test_loop

#: what pytest-asyncio says about a sync test carrying its marker (e.g. from a module-wide pytestmark)
ASYNCIO_MARK_WARNING = r".*is marked with '@pytest.mark.asyncio' but it is not an async function"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sessionkv", "sessionkv conformance suite")
    group.addoption(
        "--sessionkv-url",
        dest="sessionkv_url",
        default=None,
        metavar="URL",
        help="store URL certified by `pytest --pyargs sessionkv_conformance` (each test gets its own namespace)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sessionkv_area(name): report area of a sessionkv conformance test")


@pytest.fixture
def sessionkv_loop(request: pytest.FixtureRequest) -> Iterator[TestLoop]:
    """The event loop a conformance test and its async fixtures share; closed after both."""
    with test_loop(request.node) as loop:
        yield loop


@pytest.fixture
def sessionkv_url(request: pytest.FixtureRequest) -> str | None:
    """The ``--sessionkv-url`` option, or ``None``."""
    url: str | None = request.config.getoption("sessionkv_url")
    return url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The by-URL suite needs ``--sessionkv-url``; say so instead of failing every test."""
    wants_url = any(getattr(getattr(item, "cls", None), "__sessionkv_url_suite__", False) for item in items)
    if wants_url and not config.getoption("sessionkv_url"):
        raise pytest.UsageError(
            "sessionkv_conformance: pass --sessionkv-url=SCHEME://... to certify a store by URL "
            "(or subclass sessionkv_conformance.StoreConformance and override the `store` fixture)"
        )


def _is_conformance_item(node: object) -> bool:
    cls = getattr(node, "cls", None)
    return cls is not None and getattr(cls, SUITE_FLAG, False) is True


@pytest.hookimpl(tryfirst=True, wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    """Run async function-scoped fixtures of conformance tests on the test's loop.

    Outermost wrapper: the fixture function is swapped for a sync one before any async plugin
    (pytest-asyncio in auto mode, anyio) sees it, so fixture and test body share one loop.
    """
    func = fixturedef.func
    if fixturedef.scope != "function" or not is_async(func) or not _is_conformance_item(request.node):
        return (yield)
    loop: TestLoop = request.getfixturevalue(LOOP_FIXTURE)
    loop_def = request._get_active_fixturedef(LOOP_FIXTURE)
    loop_def.addfinalizer(functools.partial(fixturedef.finish, request=request))  # type: ignore[arg-type]
    bound = _resolve(fixturedef, request)
    sync = _asyncgen_fixture(bound, loop, request) if inspect.isasyncgenfunction(func) else _async_fixture(bound, loop)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fixturedef, "func", sync)  # only while pytest calls it for this test
        return (yield)


@pytest.hookimpl(tryfirst=True, wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, Any]:
    """Conformance tests are sync for pytest: a module-wide ``pytest.mark.asyncio`` need not warn about them."""
    if not _is_conformance_item(pyfuncitem):
        return (yield)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ASYNCIO_MARK_WARNING, pytest.PytestWarning)
        return (yield)


def _resolve(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    from _pytest.fixtures import resolve_fixture_function

    return resolve_fixture_function(fixturedef, request)


def _asyncgen_fixture(func: Callable[..., Any], loop: TestLoop, request: pytest.FixtureRequest) -> Callable[..., Any]:
    def fixture(**kwargs: Any) -> Any:
        agen = func(**kwargs)
        value = loop.run(agen.__anext__())

        def finalize() -> None:
            async def finish() -> None:
                try:
                    await agen.__anext__()
                except StopAsyncIteration:
                    return
                raise RuntimeError(f"async fixture {request.fixturename!r} yielded more than once")

            loop.run(finish())

        request.addfinalizer(finalize)
        return value

    return fixture


def _async_fixture(func: Callable[..., Any], loop: TestLoop) -> Callable[..., Any]:
    def fixture(**kwargs: Any) -> Any:
        return loop.run(func(**kwargs))

    return fixture


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """List every adaptation a conformance test made, so none is silent."""
    lines: list[str] = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") != "call":
                continue
            for key, reason in getattr(report, "user_properties", ()):
                if key == ADAPTED_PROPERTY:
                    lines.append(f"ADAPTED {report.nodeid}: {reason}")
    if lines:
        terminalreporter.write_sep("=", "sessionkv conformance adaptations")
        for line in lines:
            terminalreporter.write_line(line)
