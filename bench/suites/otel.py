"""OpenTelemetry's cost (issue #28): memory:// get and set with the API installed but no provider configured
(what every user without OpenTelemetry set up pays: two attribute reads) against instrumentation disabled
(``sessionkv.telemetry.disable()``), same store, same run; then with the SDK recording to in-memory readers,
for scale. memory:// is the fastest backend, so it shows the largest share any backend pays.
"""

from __future__ import annotations

from sessionkv import telemetry
from sessionkv_memory.store import MemoryStore

from ..operations import TTL, VALUE
from ..ratio import compare
from ..suite import Context, guarded, ratio_table


async def run(context: Context) -> None:
    table = ratio_table(
        "OpenTelemetry: memory:// calls, API installed vs instrumentation disabled",
        "No provider: opentelemetry-api installed, no provider configured (the default for a user who has not",
        "set OpenTelemetry up); disabled: sessionkv.telemetry.disable(). SDK: an SDK MeterProvider and",
        "TracerProvider recording to in-memory readers (what recording costs). Same store, same run.",
    )
    context.report.tables.append(table)

    async def measure() -> None:
        if not telemetry.available():
            return
        async with MemoryStore() as store:
            await store.set("bench/k", VALUE, TTL)

            async def get_on() -> object:
                telemetry.enable()
                return await store.get("bench/k")

            async def get_off() -> object:
                telemetry.disable()
                return await store.get("bench/k")

            async def set_on() -> object:
                telemetry.enable()
                return await store.set("bench/k", VALUE, TTL)

            async def set_off() -> object:
                telemetry.disable()
                return await store.set("bench/k", VALUE, TTL)

            try:
                for name, on, off in (("get", get_on, get_off), ("set", set_on, set_off)):
                    ratio = await compare(on, off, context.profile)
                    context.report.ratio_row(table, "otel", f"{name}, no provider", f"{name}, disabled", ratio)
                sdk = _sdk_providers()
                if sdk is not None:
                    telemetry.configure(meter_provider=sdk[0], tracer_provider=sdk[1])
                    ratio = await compare(get_on, get_off, context.profile)
                    context.report.ratio_row(table, "otel", "get, SDK recording", "get, disabled", ratio)
            finally:
                telemetry.configure()
                telemetry.enable()

    await guarded(context, "otel", table, measure)


def _sdk_providers() -> tuple[object, object] | None:
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        return None
    return MeterProvider(metric_readers=[InMemoryMetricReader()]), TracerProvider()
