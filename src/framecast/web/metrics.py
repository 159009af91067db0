"""What ``GET /metrics`` exports, in two kinds (docs/operations.md says why it is split so):

* **From the ledger and the broker, at scrape time** (``LedgerCollector``): projects by status, tasks queued
  and running by kind, task durations and render speed, webhook deliveries, dead letters. Every API replica
  reads the same database and broker, so every replica answers the same numbers, however many worker
  processes on however many machines did the work; nothing is kept in processes, no shared directory.
  Aggregate them across replicas with ``max``, never ``sum``.
* **Of this API process** (``StreamMetrics``): open SSE and WebSocket streams and the delay from an event's
  commit to its send. Only the process holding a stream knows it; Prometheus scrapes each replica and
  ``sum`` adds them up.

No series has an owner or a prompt in its labels: the only labels are status, kind, transport and outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, disable_created_metrics
from prometheus_client import Histogram as PromHistogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from framecast.domain.errors import Unavailable
from framecast.domain.models import Event
from framecast.services.ports import Histogram, JobQueue, StatsSource

log = logging.getLogger(__name__)

# The ``*_created`` samples (process start times of each series) say nothing useful here and double the
# exposition of the per-process series.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Seconds from an event's commit to its send on a stream.
LAG_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The stream transports (polling is not a stream: a poll answers at once, its delay is the poll interval).
TRANSPORTS = ("sse", "websocket")


def _buckets(h: Histogram) -> list[tuple[str, float]]:
    return [*((_le(b), float(n)) for b, n in zip(h.bounds, h.counts, strict=True)), ("+Inf", float(h.count))]


def _le(bound: float) -> str:
    return repr(float(bound))


class LedgerCollector(Collector):
    """The ledger-derived families, read when Prometheus scrapes (see the module docstring).

    Durations, render speed and webhook deliveries come from counters that the transactions recording
    them bump in the ledger (``services.metrics``): cumulative, so ``rate()`` works as usual, and deleting
    a project does not lower them. Projects and tasks are counted as they are now (gauges).
    """

    def __init__(self, stats: StatsSource, queue: JobQueue) -> None:
        self.stats = stats
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "framecast_metrics_source_up",
            "1 when this scrape could read the source (ledger: database; broker: dead letters), else 0.",
            labels=["source"],
        )
        yield from self._ledger(up)
        yield from self._broker(up)
        yield up

    def _ledger(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        try:
            stats = self.stats.stats()
        except Unavailable as exc:
            log.warning("metrics: the ledger could not be read (%s)", exc.message)
            up.add_metric(["ledger"], 0)
            return
        up.add_metric(["ledger"], 1)
        projects = GaugeMetricFamily(
            "framecast_projects_total",
            "Projects in the ledger by status (a gauge: deleting or expiring projects lowers it).",
            labels=["status"],
        )
        for status, n in stats.projects.items():
            projects.add_metric([status], n)
        yield projects
        queued = GaugeMetricFamily(
            "framecast_tasks_queued",
            "Tasks sent to the workers and not started yet, by kind (the queue's depth).",
            labels=["kind"],
        )
        for kind, n in stats.tasks_queued.items():
            queued.add_metric([kind], n)
        yield queued
        running = GaugeMetricFamily("framecast_tasks_running", "Tasks running now, by kind.", labels=["kind"])
        for kind, n in stats.tasks_running.items():
            running.add_metric([kind], n)
        yield running
        durations = HistogramMetricFamily(
            "framecast_task_duration_seconds",
            "Start-to-finish seconds of completed tasks, by kind.",
            labels=["kind"],
        )
        for kind, h in stats.task_seconds.items():
            durations.add_metric([kind], _buckets(h), h.total)
        yield durations
        fps = HistogramMetricFamily(
            "framecast_render_frames_per_second", "Frames per second of completed render tasks."
        )
        fps.add_metric([], _buckets(stats.render_fps), stats.render_fps.total)
        yield fps
        webhooks = CounterMetricFamily(
            "framecast_webhook_deliveries",
            "Webhook deliveries by outcome (no series until the first delivery).",
            labels=["outcome"],
        )
        for outcome, n in sorted((stats.webhook_deliveries or {}).items()):
            webhooks.add_metric([outcome], n)
        yield webhooks

    def _broker(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        try:
            dead = self.queue.dead_letters()
        except Unavailable as exc:
            log.warning("metrics: the broker could not be read (%s)", exc.message)
            up.add_metric(["broker"], 0)
            return
        up.add_metric(["broker"], 1)
        yield GaugeMetricFamily(
            "framecast_dead_letters",
            "Task messages the broker dead-lettered (a delivery that raised out of the runner).",
            value=dead,
        )


class StreamConnection:
    """One open stream, as ``StreamMetrics.connect`` counts it: call ``sent`` after each event went out and
    ``close`` once at the end."""

    def __init__(self, metrics: StreamMetrics, transport: str, opened_seq: int) -> None:
        self._metrics = metrics
        self._transport = transport
        self._opened_seq = opened_seq
        self._open = True
        metrics.connections.labels(transport).inc()

    def sent(self, event: Event) -> None:
        # Only events committed after the stream opened: replaying an hour-old log is not a delay.
        if event.seq > self._opened_seq:
            lag = max(0.0, time.time() - event.ts.timestamp())
            self._metrics.lag.labels(self._transport).observe(lag)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._metrics.connections.labels(self._transport).dec()


class StreamMetrics:
    """Streams of this API process (one registry per app, so apps in one test process do not mix)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.connections = Gauge(
            "framecast_stream_connections",
            "Open event streams on this API process, by transport.",
            ["transport"],
            registry=registry,
        )
        self.lag = PromHistogram(
            "framecast_event_delivery_lag_seconds",
            "Seconds from an event's commit to its send on a stream of this API process, by transport.",
            ["transport"],
            buckets=LAG_BOUNDS,
            registry=registry,
        )
        for transport in TRANSPORTS:  # every series exists from the start, at 0
            self.connections.labels(transport)
            self.lag.labels(transport)

    def connect(self, transport: str, opened_seq: int) -> StreamConnection:
        """Count a stream that opened when its project's log ended at ``opened_seq``."""
        return StreamConnection(self, transport, opened_seq)


class Metrics:
    """The registry ``GET /metrics`` exposes: the ledger collector and this process's stream metrics."""

    def __init__(self, stats: StatsSource, queue: JobQueue) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(LedgerCollector(stats, queue))
        self.streams = StreamMetrics(self.registry)
