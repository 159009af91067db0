"""The reconciler's duties, each exactly when due (ages are set on the fake, nothing waits): outbox rows
past the grace are sent, silent running tasks and tasks whose message vanished get a fresh attempt, and
nothing of a cancelled project is ever re-queued. And the media sweep removes only orphans' files."""

from __future__ import annotations

from datetime import timedelta

import pytest

from framecast.domain.models import Project, Task, utcnow
from framecast.domain.status import Status
from framecast.services import pipeline
from framecast.services.reconciler import MediaSweeper, Reconciler
from tests.fakes import FakeJobQueue, FakeLedger, FakeMediaStore
from tests.unit.support import create, new_project, start, stored_task, task

LONG_AGO = timedelta(minutes=5)


@pytest.fixture
def reconciler(ledger: FakeLedger, queue: FakeJobQueue) -> Reconciler:
    return Reconciler(ledger, queue, outbox_grace_s=5.0, heartbeat_timeout_s=15.0, lost_after_s=10.0)


def _one_task(ledger: FakeLedger, queue: FakeJobQueue, kind: str = "render_chunk") -> tuple[Project, Task]:
    project = new_project()
    only = task(project, kind)
    create(ledger, queue, project, [only])
    return project, only


def _cancel(ledger: FakeLedger, project: Project) -> None:
    with ledger.transaction() as tx:
        pipeline.cancel_project(tx, tx.project(project.id, lock=True))


# -- 1. the outbox --------------------------------------------------------------------------------------


def test_an_outbox_row_is_sent_once_its_grace_is_over(
    ledger: FakeLedger, queue: FakeJobQueue, reconciler: Reconciler
) -> None:
    queue.down = True
    _, chunk = _one_task(ledger, queue)
    queue.down = False
    assert ledger.outbox_rows() == [(chunk.id, 1)]
    assert reconciler.run_once().total == 0  # within the grace: its sender may still be at it
    assert queue.sent == []
    ledger.set_outbox_created_at(utcnow() - LONG_AGO)
    report = reconciler.run_once()
    assert (report.outbox_sent, report.dead_requeued, report.lost_requeued) == (1, 0, 0)
    assert queue.sent == [(chunk.id, 1)]
    assert ledger.outbox_rows() == []
    assert reconciler.run_once().total == 0
    assert queue.sent == [(chunk.id, 1)]


def test_a_due_outbox_row_the_broker_still_refuses_stays_for_the_next_round(
    ledger: FakeLedger, queue: FakeJobQueue, reconciler: Reconciler
) -> None:
    queue.down = True
    _, chunk = _one_task(ledger, queue)
    ledger.set_outbox_created_at(utcnow() - LONG_AGO)
    assert reconciler.run_once().outbox_sent == 0
    assert ledger.outbox_rows() == [(chunk.id, 1)]


def test_outbox_rows_of_stale_attempts_ended_projects_and_deleted_tasks_are_dropped_unsent(
    ledger: FakeLedger, queue: FakeJobQueue, reconciler: Reconciler
) -> None:
    _, running = _one_task(ledger, queue)
    start(ledger, running.id)
    cancelled, in_cancelled = _one_task(ledger, queue)
    _cancel(ledger, cancelled)
    deleted, in_deleted = _one_task(ledger, queue)
    with ledger.transaction() as tx:
        tx.delete_project(deleted.id)
        tx.add_outbox([(running.id, 1), (running.id, 7), (in_cancelled.id, 1), (in_deleted.id, 1)])
    ledger.set_outbox_created_at(utcnow() - LONG_AGO)
    queue.clear()
    assert reconciler.run_once().total == 0
    assert queue.sent == [] and ledger.outbox_rows() == []


# -- 2. silent running tasks ----------------------------------------------------------------------------


def test_a_running_task_whose_heartbeat_stopped_is_requeued_with_a_fresh_attempt(
    ledger: FakeLedger, queue: FakeJobQueue, reconciler: Reconciler
) -> None:
    project, chunk = _one_task(ledger, queue)
    start(ledger, chunk.id)
    ledger.set_task(chunk.id, heartbeat_at=utcnow() - LONG_AGO)
    queue.clear()
    report = reconciler.run_once()
    assert (report.dead_requeued, report.total) == (1, 1)
    assert queue.sent == [(chunk.id, 2)]
    again = stored_task(ledger, chunk.id)
    assert (again.status, again.attempt, again.heartbeat_at) == (Status.QUEUED, 2, None)
    assert ledger.outbox_rows() == []
    assert not start(ledger, chunk.id, 1)  # the dead worker's message, redelivered: stale
    assert start(ledger, chunk.id, 2)
    assert reconciler.run_once().total == 0


def test_a_running_task_with_a_fresh_heartbeat_is_left_alone(
    ledger: FakeLedger, queue: FakeJobQueue, reconciler: Reconciler
) -> None:
    _, chunk = _one_task(ledger, queue)
    start(ledger, chunk.id)
    ledger.set_task(chunk.id, heartbeat_at=utcnow() - timedelta(seconds=5))
    queue.clear()
    assert reconciler.run_once().total == 0
    assert queue.sent == [] and stored_task(ledger, chunk.id).attempt == 1


def test_nothing_of_a_cancelled_project_is_ever_requeued(
    ledger: FakeLedger, queue: FakeJobQueue, reconciler: Reconciler
) -> None:
    project, chunk = _one_task(ledger, queue)
    other = task(project, "poster")
    with ledger.transaction() as tx:
        tx.add_tasks([other])
    start(ledger, chunk.id)
    _cancel(ledger, project)
    # However the rows look (a task still "running" and silent, one queued whose message is gone), cancel wins.
    ledger.set_task(chunk.id, status=Status.RUNNING, heartbeat_at=utcnow() - LONG_AGO)
    ledger.set_task(other.id, status=Status.QUEUED, message_id="msg_gone", sent_at=utcnow() - LONG_AGO)
    queue.clear()
    assert reconciler.run_once().total == 0
    assert queue.sent == []
    assert stored_task(ledger, chunk.id).attempt == 1 and stored_task(ledger, other.id).attempt == 1


# -- 3. lost messages -----------------------------------------------------------------------------------


def test_a_sent_task_is_requeued_only_when_the_broker_lost_its_message(
    ledger: FakeLedger, queue: FakeJobQueue, reconciler: Reconciler
) -> None:
    _, chunk = _one_task(ledger, queue)
    ledger.set_task(chunk.id, sent_at=utcnow() - LONG_AGO)
    assert reconciler.run_once().total == 0  # waiting its turn in a long queue: not lost
    assert queue.sent == [(chunk.id, 1)]
    queue.forget()  # a Redis restart without persistence
    report = reconciler.run_once()
    assert report.lost_requeued == 1
    assert queue.sent == [(chunk.id, 1), (chunk.id, 2)]
    assert stored_task(ledger, chunk.id).attempt == 2


def test_a_broker_down_during_the_lost_message_check_ends_the_round_quietly(
    ledger: FakeLedger, queue: FakeJobQueue, reconciler: Reconciler
) -> None:
    _, chunk = _one_task(ledger, queue)
    ledger.set_task(chunk.id, sent_at=utcnow() - LONG_AGO)
    queue.down = True
    assert reconciler.run_once().total == 0
    assert stored_task(ledger, chunk.id).attempt == 1


# -- the media sweep ------------------------------------------------------------------------------------


def test_the_media_sweep_removes_only_the_files_of_deleted_projects(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    alive = [_one_task(ledger, queue)[0] for _ in range(2)]
    gone = [_one_task(ledger, queue)[0] for _ in range(3)]
    for project in [*alive, *gone]:
        media.write(f"{project.id}/ast_1/video.mp4", b"v")
    media.write("uploads/ast_up/a.png", b"i")
    with ledger.transaction() as tx:
        for project in gone:
            tx.delete_project(project.id)
    monkeypatch.setattr(MediaSweeper, "BATCH", 2)  # several batches
    assert MediaSweeper(ledger, media).run_once() == 3
    assert media.keys() == sorted([*(f"{p.id}/ast_1/video.mp4" for p in alive), "uploads/ast_up/a.png"])
    assert MediaSweeper(ledger, media).run_once() == 0
