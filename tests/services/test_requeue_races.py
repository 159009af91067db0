"""Writers of one project meet under its lock, whatever committed in between: a stale runner's progress
is refused after a re-queue, a dead-worker re-queue is dropped when a redelivery has started the same
attempt again since the reconciler looked, and two last chunks finishing at once make the compose ready
exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from framecast.domain.models import Project, Task, new_id, utcnow
from framecast.domain.status import Status
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


#: Postgres only: there two writers interleave (SQLite takes one writer at a time).
postgres_only = pytest.mark.parametrize("ledger_url", ["postgres"], indirect=True)


@postgres_only
def test_progress_of_an_attempt_requeued_while_it_waited_for_the_lock_is_refused(ledger: SqlLedger) -> None:
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


@postgres_only
def test_fan_in_fires_once_when_the_last_chunks_finish_at_the_same_moment(ledger: SqlLedger) -> None:
    """Two workers commit the last two chunks of a project at once (Postgres: real concurrent writers);
    the compose becomes ready in exactly one of the two transactions, in every one of 20 rounds."""
    for _ in range(20):
        pid = new_id("prj")
        chunks = [Task(id=new_id("tsk"), project_id=pid, kind="render_chunk") for _ in range(3)]
        compose = Task(id=new_id("tsk"), project_id=pid, kind="compose", depends_on=[c.id for c in chunks])
        with ledger.transaction() as tx:
            pipeline.create_project(
                tx, Project(id=pid, owner="local", prompt="p", options={}), [*chunks, compose]
            )
        ledger.mark_sent([(c.id, 1, f"m-{c.id}") for c in chunks])
        for chunk in chunks:
            with ledger.transaction() as tx:
                assert pipeline.start_task(tx, chunk.id, 1) is not None
        with ledger.transaction() as tx:
            assert pipeline.complete_task(tx, chunks[0].id, 1, pipeline.TaskOutcome()) == []
        barrier = threading.Barrier(2)
        sent: list[list[str]] = []

        def finish(chunk: Task, barrier: threading.Barrier, sent: list[list[str]]) -> None:
            barrier.wait()
            with ledger.transaction() as tx:
                to_send = pipeline.complete_task(tx, chunk.id, 1, pipeline.TaskOutcome())
            sent.append([t.id for t in to_send or []])

        threads = [threading.Thread(target=finish, args=(c, barrier, sent)) for c in chunks[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(sent) == [[], [compose.id]]
        with ledger.read() as tx:
            assert [a for t, a in tx.outbox_due(utcnow() + timedelta(seconds=1)) if t == compose.id] == [1]
        with ledger.read() as tx:
            ready = tx.task(compose.id)
        assert ready.status is Status.QUEUED and ready.enqueued_at is not None and ready.attempt == 1
