"""Counts over the ledger for ``/metrics`` (``services.ports.StatsSource``): a few grouped queries, run at
scrape time, that return the same numbers to every process that asks.

Histograms are bucketed inside the database (one ``CASE`` per row, then ``GROUP BY``), so a scrape reads a
few dozen rows whatever the size of the ledger; only tasks that finished inside the window are read, through
the status index. ``bench/metrics.py`` measures a scrape at 10,000 projects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Float,
    and_,
    case,
    cast,
    func,
    inspect,
    literal,
    or_,
    select,
    text,
)

from framecast.domain.status import Status
from framecast.ledger.engine import is_sqlite, pool_outages
from framecast.ledger.tables import projects, tasks
from framecast.services.ports import Histogram, LedgerStats

#: The table (and its column) that webhook deliveries are counted from when this ledger has it; the
#: webhook feature's migration creates it. Until then ``webhook_deliveries`` is None.
WEBHOOK_TABLE = "webhook_deliveries"
WEBHOOK_OUTCOME_COLUMN = "state"
#: How long the answer "is the deliveries table there?" is believed (a migration adds it while we run).
_TABLE_CHECK_S = 30.0


class SqlStats:
    """``StatsSource`` over the ledger's engine.

    ``kinds``: every task kind (each gets a series, 0 when idle). ``render_kind`` and ``frame_range``: the
    task kind that renders frames and the names of its params that bound its frame range (``end - start``
    frames), for frames per second.

    >>> stats = SqlStats(engine, kinds=("plan", "render_chunk"), render_kind="render_chunk")  # doctest: +SKIP
    >>> stats.stats(since=..., duration_bounds=(1.0, 10.0), fps_bounds=(30.0,)).projects  # doctest: +SKIP
    {'queued': 0, 'running': 1, 'completed': 12, 'failed': 0, 'cancelled': 0}
    """

    def __init__(
        self,
        engine: Engine,
        *,
        kinds: Sequence[str],
        render_kind: str,
        frame_range: tuple[str, str] = ("start", "end"),
    ) -> None:
        self.engine = engine
        self.kinds = tuple(kinds)
        self.render_kind = render_kind
        self.frame_range = frame_range
        self._webhooks_checked = 0.0
        self._webhooks_present = False
        self._lock = threading.Lock()

    def stats(
        self, *, since: datetime, duration_bounds: tuple[float, ...], fps_bounds: tuple[float, ...]
    ) -> LedgerStats:
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
                seconds = self._seconds(conn.engine)
                done = and_(
                    tasks.c.status == Status.COMPLETED.value,
                    tasks.c.finished_at >= since,
                    tasks.c.started_at.is_not(None),
                )
                durations = _bucketed(conn, seconds, done, duration_bounds, group=tasks.c.kind)
                start, end = (tasks.c.params[name].as_float() for name in self.frame_range)
                fps = (end - start) / seconds
                rendered = and_(done, tasks.c.kind == self.render_kind, seconds > 0)
                speeds = _bucketed(conn, fps, rendered, fps_bounds)
                webhooks = self._webhook_outcomes(conn)
        return LedgerStats(
            projects=by_status,
            tasks_queued=queued,
            tasks_running=running,
            task_seconds={
                kind: durations.get(kind, Histogram.empty(duration_bounds))
                for kind in sorted({*self.kinds, *durations})
            },
            render_fps=speeds.get(None, Histogram.empty(fps_bounds)),
            webhook_deliveries=webhooks,
        )

    @staticmethod
    def _seconds(engine: Engine) -> ColumnElement[float]:
        if is_sqlite(engine):
            # SQLite keeps timestamps as text; julianday() reads them (precision: tens of microseconds).
            return cast(
                (func.julianday(tasks.c.finished_at) - func.julianday(tasks.c.started_at)) * 86400.0, Float
            )
        return cast(func.extract("epoch", tasks.c.finished_at - tasks.c.started_at), Float)

    def _webhook_outcomes(self, conn: Any) -> dict[str, int] | None:
        now = time.monotonic()
        with self._lock:
            if now - self._webhooks_checked >= _TABLE_CHECK_S:
                found = inspect(conn).has_table(WEBHOOK_TABLE)
                if found:
                    columns = {c["name"] for c in inspect(conn).get_columns(WEBHOOK_TABLE)}
                    found = WEBHOOK_OUTCOME_COLUMN in columns
                self._webhooks_present, self._webhooks_checked = found, now
            present = self._webhooks_present
        if not present:
            return None
        rows = conn.execute(
            text(
                f"SELECT {WEBHOOK_OUTCOME_COLUMN}, count(*) FROM {WEBHOOK_TABLE} "
                f"GROUP BY {WEBHOOK_OUTCOME_COLUMN}"
            )
        )
        return {str(outcome): int(n) for outcome, n in rows if outcome is not None}


def _bucketed(
    conn: Any,
    value: ColumnElement[float],
    where: ColumnElement[bool],
    bounds: tuple[float, ...],
    *,
    group: Any = None,
) -> dict[Any, Histogram]:
    """One histogram per value of ``group`` (or one, under the key None) of ``value`` over the rows that
    match ``where``: each row's bucket index is computed in the database, then counted per bucket."""
    sub = (
        select((group if group is not None else literal(0)).label("g"), value.label("v"))
        .where(where)
        .subquery()
    )
    bucket = case(*((sub.c.v <= bound, i) for i, bound in enumerate(bounds)), else_=len(bounds))
    query = select(sub.c.g, bucket.label("b"), func.count(), func.sum(sub.c.v)).group_by(sub.c.g, "b")
    per: dict[Any, tuple[list[int], list[float]]] = {}
    for g, b, n, total in conn.execute(query):
        counts, sums = per.setdefault(g if group is not None else None, ([0] * (len(bounds) + 1), [0.0]))
        counts[int(b)] += int(n)
        sums[0] += float(total or 0.0)
    out: dict[Any, Histogram] = {}
    for g, (counts, sums) in per.items():
        cumulative, running = [], 0
        for n in counts[:-1]:
            running += n
            cumulative.append(running)
        out[g] = Histogram(bounds, tuple(cumulative), count=running + counts[-1], total=sums[0])
    return out
