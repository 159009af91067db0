"""The service's counters in the ledger: what a finished task (or a webhook delivery) adds, and how the
counters become histograms.

The transaction that completes a task bumps one bucket of ``seconds`` (start to finish) for its kind, and
for a task that rendered frames one bucket of ``fps``; the webhook sender counts each delivery's outcome
with ``count_webhook_delivery`` in the transaction that records it. ``GET /metrics`` reads the counters
back as Prometheus histograms and counters. Counting where the ledger writes makes them right with any number of worker
processes and API replicas (they all count into, and read, the same rows), and keeps them cumulative:
deleting a project does not lower them, so ``rate()`` over them means what it says.

>>> bucket_of(0.3, (0.25, 0.5))
'0.5'
>>> bucket_of(9.0, (0.25, 0.5))
'+Inf'
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from framecast.domain.models import Task
from framecast.services.ports import Histogram, LedgerSession

#: Seconds from a task's start to its finish: a poster takes a fraction of a second, a long video's
#: compose minutes.
DURATION_BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
#: Frames per second of one render task (a 720p chunk renders at about 100-300 on one core).
FPS_BOUNDS = (5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0)
SECONDS = "task_seconds"
FPS = "render_fps"
WEBHOOK_DELIVERIES = "webhook_deliveries"
INF = "+Inf"


def le_label(bound: float) -> str:
    return repr(float(bound))


def bucket_of(value: float, bounds: tuple[float, ...]) -> str:
    """The label of the smallest bound ``value`` is not above (``+Inf`` past the last one)."""
    for bound in bounds:
        if value <= bound:
            return le_label(bound)
    return INF


def count_completion(tx: LedgerSession, task: Task, finished_at: datetime, frames: int | None) -> None:
    """Count a task that completed at ``finished_at`` (``frames``: how many it rendered, if any)."""
    if task.started_at is None:
        return
    seconds = max(0.0, (finished_at - task.started_at).total_seconds())
    tx.add_counter(SECONDS, task.kind, bucket_of(seconds, DURATION_BOUNDS), seconds)
    if frames and seconds > 0:
        fps = frames / seconds
        tx.add_counter(FPS, task.kind, bucket_of(fps, FPS_BOUNDS), fps)


def count_webhook_delivery(tx: LedgerSession, outcome: str) -> None:
    """Count one webhook delivery attempt's ``outcome`` (``delivered``, ``failed``, ``disabled``…; a short
    word, never a URL or an owner): ``framecast_webhook_deliveries_total{outcome}``."""
    tx.add_counter(WEBHOOK_DELIVERIES, outcome[:32], "", 1.0)


def histogram(buckets: Iterable[tuple[str, int, float]], bounds: tuple[float, ...]) -> Histogram:
    """A cumulative histogram from ``(le, count, total)`` counters. A counter whose bound is not one of
    ``bounds`` (the bounds changed since it was written) goes to the next bound above it."""
    per = [0] * (len(bounds) + 1)
    total = 0.0
    for le, n, value_sum in buckets:
        bound = float("inf") if le == INF else float(le)
        index = next((i for i, b in enumerate(bounds) if bound <= b), len(bounds))
        per[index] += int(n)
        total += float(value_sum)
    cumulative, running = [], 0
    for n in per[:-1]:
        running += n
        cumulative.append(running)
    return Histogram(bounds, tuple(cumulative), count=running + per[-1], total=total)
