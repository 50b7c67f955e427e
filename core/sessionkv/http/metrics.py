"""``GET /metrics``: sessionkv's OpenTelemetry metrics in the Prometheus text format, for ``sessionkv serve``.

The serve process records its metrics (store calls, registry and node instruments, ``sessionkv.telemetry``)
to an SDK ``MeterProvider`` whose reader is OpenTelemetry's own Prometheus exporter, on a registry of its
own (never the process-wide default one), and ``/metrics`` renders that registry with ``prometheus_client``.
They come with the ``prometheus`` extra; without them ``/metrics`` answers 503 saying what to install.
"""

from __future__ import annotations

from typing import Any

#: What ``/metrics`` needs (and says to install when it is missing).
INSTALL_HINT = 'pip install "sessionkv[prometheus]"'


class PrometheusMetrics:
    """An SDK meter provider read by the Prometheus exporter, and the text of what it has recorded."""

    def __init__(self) -> None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

        self.registry = CollectorRegistry()
        self.content_type: str = CONTENT_TYPE_LATEST
        self.provider: Any = MeterProvider(metric_readers=[PrometheusMetricReader(registry=self.registry)])

    def render(self) -> bytes:
        """Everything recorded so far, in the Prometheus text exposition format."""
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))

    def shutdown(self) -> None:
        self.provider.shutdown()


def prometheus_metrics() -> PrometheusMetrics | None:
    """Metrics for ``/metrics`` if the SDK and the Prometheus exporter are installed, else ``None``."""
    try:
        return PrometheusMetrics()
    except ImportError:
        return None
