"""Counts over the ledger for ``/metrics`` (``services.ports.StatsSource``), read at scrape time: the same
numbers for every process that asks.

Three small queries: projects by status (the status index), queued and running tasks by kind (the status
index, only active rows), and the counters (``metric_counters``: a row per metric, label and bucket, bumped
by the transaction that completes a task, so reading them costs the same at 100 projects or 100,000).
Webhook deliveries come from those counters once the webhook sender counts them
(``services.metrics.count_webhook_delivery``); before that, from the deliveries table when this ledger
has one. ``bench/metrics.py`` measures a scrape at 10,000 projects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Engine, and_, func, or_, select

from framecast.domain.status import Status
from framecast.ledger.engine import pool_outages
from framecast.ledger.tables import metric_counters, projects, tasks
from framecast.services.metrics import (
    DURATION_BOUNDS,
    FPS,
    FPS_BOUNDS,
    SECONDS,
    WEBHOOK_DELIVERIES,
    histogram,
)
from framecast.services.ports import Histogram, LedgerStats


class SqlStats:
    """``StatsSource`` over the ledger's engine; ``kinds``: every task kind (each gets its series, 0 while
    none ran).

    >>> SqlStats(engine, kinds=("plan", "render_chunk")).stats().projects   # doctest: +SKIP
    {'queued': 0, 'running': 1, 'completed': 12, 'failed': 0, 'cancelled': 0}
    """

    def __init__(self, engine: Engine, *, kinds: Sequence[str]) -> None:
        self.engine = engine
        self.kinds = tuple(kinds)

    def stats(self) -> LedgerStats:
        with pool_outages(), self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="DEFERRED")
            with conn.begin():
                by_status = dict.fromkeys((s.value for s in Status), 0)
                for status, n in conn.execute(
                    select(projects.c.status, func.count()).group_by(projects.c.status)
                ):
                    by_status[status] = int(n)
                queued = dict.fromkeys(self.kinds, 0)
                running = dict.fromkeys(self.kinds, 0)
                waiting = and_(tasks.c.status == Status.QUEUED.value, tasks.c.enqueued_at.is_not(None))
                for kind, status, n in conn.execute(
                    select(tasks.c.kind, tasks.c.status, func.count())
                    .where(or_(waiting, tasks.c.status == Status.RUNNING.value))
                    .group_by(tasks.c.kind, tasks.c.status)
                ):
                    (running if status == Status.RUNNING.value else queued)[kind] = int(n)
                counters: dict[tuple[str, str], list[tuple[str, int, float]]] = defaultdict(list)
                for metric, label, le, n, total in conn.execute(select(metric_counters)):
                    counters[(metric, label)].append((le, int(n), float(total)))
                webhooks: dict[str, int] = {
                    label: sum(n for _le, n, _total in rows)
                    for (metric, label), rows in counters.items()
                    if metric == WEBHOOK_DELIVERIES
                }
        kinds = sorted({*self.kinds, *(kind for metric, kind in counters if metric == SECONDS)})
        fps = [row for (metric, _kind), rows in counters.items() if metric == FPS for row in rows]
        return LedgerStats(
            projects=by_status,
            tasks_queued=queued,
            tasks_running=running,
            task_seconds={
                kind: histogram(counters.get((SECONDS, kind), []), DURATION_BOUNDS) for kind in kinds
            },
            render_fps=histogram(fps, FPS_BOUNDS) if fps else Histogram.empty(FPS_BOUNDS),
            webhook_deliveries=webhooks,
        )
