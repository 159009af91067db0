"""A re-queue and the attempt it replaces meet under the project lock, whatever committed in between:
a stale runner's progress is refused after a re-queue, and a dead-worker re-queue is dropped when a
redelivery has started the same attempt again since the reconciler looked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from framecast.domain.models import Project, Task, new_id, utcnow
from framecast.domain.status import Status
from framecast.ledger.engine import make_engine
from framecast.ledger.migrate import upgrade
from framecast.ledger.repository import SqlLedger
from framecast.services import pipeline


def _running_task(ledger: SqlLedger) -> Task:
    pid = new_id("prj")
    task = Task(id=new_id("tsk"), project_id=pid, kind="render_chunk")
    with ledger.transaction() as tx:
        pipeline.create_project(tx, Project(id=pid, owner="local", prompt="p", options={}), [task])
    ledger.mark_sent([(task.id, 1, "m-1")])
    with ledger.transaction() as tx:
        assert pipeline.start_task(tx, task.id, 1) is not None
    return task


def test_a_dead_worker_requeue_is_dropped_when_the_attempt_came_back_to_life(ledger: SqlLedger) -> None:
    task = _running_task(ledger)
    cutoff = utcnow()  # the reconciler saw the heartbeat older than this ...
    with ledger.transaction() as tx:
        assert pipeline.start_task(tx, task.id, 1) is not None  # ... then the broker redelivered it
    with ledger.transaction() as tx:
        sent = pipeline.requeue_task(tx, task.id, expect=Status.RUNNING, attempt=1, silent_since=cutoff)
    assert sent == []
    with ledger.read() as tx:
        alive = tx.task(task.id)
    assert alive.status is Status.RUNNING and alive.attempt == 1


@pytest.fixture
def pg_ledger(postgres_url: str) -> Iterator[SqlLedger]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield SqlLedger(engine)
    engine.dispose()


def test_progress_of_an_attempt_requeued_while_it_waited_for_the_lock_is_refused(
    pg_ledger: SqlLedger,
) -> None:
    # Postgres only: there two writers interleave (SQLite takes one writer at a time, so this cannot happen).
    ledger = pg_ledger
    task = _running_task(ledger)
    with ledger.transaction() as tx:
        lock_project = tx.project

        def requeue_first(project_id: str, **kwargs: object) -> Project:
            if kwargs.get("lock"):
                # Between the runner's first read of its task and its lock, the reconciler re-queues it.
                with ledger.transaction() as other:
                    assert pipeline.requeue_task(other, task.id, expect=Status.RUNNING, attempt=1)
            return lock_project(project_id, **kwargs)  # type: ignore[arg-type]

        tx.project = requeue_first  # type: ignore[method-assign]
        accepted = pipeline.report_progress(tx, task.id, 1, frame=10, frames=60, eta_s=1.0)
    assert not accepted
    with ledger.read() as tx:
        queued = tx.task(task.id)
    assert queued.status is Status.QUEUED and queued.attempt == 2 and queued.progress == 0.0
    assert "render_progress" not in [e.type for e in ledger.events_after(task.project_id, 0)]
