"""The pipeline's rules, one by one: readiness and the outbox, stale and duplicate deliveries, fan-in
exactly once, the order of the final events, failure, cancel and the fresh attempts of retry and re-queue."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from framecast.domain.errors import Conflict
from framecast.domain.events import EventType
from framecast.domain.models import AssetKind, utcnow
from framecast.domain.status import Status
from framecast.services import pipeline
from framecast.services.pipeline import TaskOutcome
from tests.fakes import FakeJobQueue, FakeLedger
from tests.unit.support import (
    complete,
    create,
    fan_in,
    log,
    new_project,
    run,
    start,
    stored_project,
    stored_task,
    task,
    types,
    video,
)

# -- readiness and the outbox ---------------------------------------------------------------------------


def test_create_marks_ready_tasks_sent_and_writes_their_outbox_rows_in_the_same_commit(
    ledger: FakeLedger,
) -> None:
    project = new_project()
    chunks, compose = fan_in(project)
    with ledger.transaction() as tx:
        ready = pipeline.create_project(tx, project, [*chunks, compose])
    assert [t.id for t in ready] == [c.id for c in chunks]
    assert ledger.commits == 1
    assert ledger.outbox_rows() == [(c.id, 1) for c in chunks]
    assert stored_task(ledger, chunks[0].id).enqueued_at is not None
    assert stored_task(ledger, compose.id).enqueued_at is None
    assert [(e.seq, e.type) for e in log(ledger, project.id)] == [
        (1, EventType.PROJECT_STATUS),
        *((n, EventType.TASK_STATUS) for n in range(2, 6)),
    ]
    assert log(ledger, project.id)[0].data == {"status": "queued", "terminal": False}


def test_a_ready_task_is_marked_ready_once_however_often_readiness_is_checked(ledger: FakeLedger) -> None:
    project = new_project()
    chunks, compose = fan_in(project)
    with ledger.transaction() as tx:
        pipeline.create_project(tx, project, [*chunks, compose])
    with ledger.transaction() as tx:
        assert pipeline.ready_to_send(tx, project.id) == []
    assert len(ledger.outbox_rows()) == 3


# -- start, progress: stale and duplicate deliveries ----------------------------------------------------


def test_start_marks_the_task_and_the_project_running(ledger: FakeLedger, queue: FakeJobQueue) -> None:
    project = new_project()
    plan = task(project, "plan")
    create(ledger, queue, project, [plan])
    assert start(ledger, plan.id)
    running = stored_task(ledger, plan.id)
    assert running.status is Status.RUNNING and running.started_at is not None
    assert running.heartbeat_at is not None
    assert stored_project(ledger, project.id).status is Status.RUNNING
    last_two = log(ledger, project.id)[-2:]
    assert [(e.type, e.data["status"]) for e in last_two] == [
        ("task_status", "running"),
        ("project_status", "running"),
    ]


def test_a_redelivered_running_attempt_runs_again_with_only_a_heartbeat(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    plan = task(project, "plan")
    create(ledger, queue, project, [plan])
    assert start(ledger, plan.id)
    before = log(ledger, project.id)
    ledger.set_task(plan.id, heartbeat_at=utcnow() - timedelta(hours=1))
    assert start(ledger, plan.id)  # the broker gave the same attempt to another worker (the first died)
    assert log(ledger, project.id) == before
    beat = stored_task(ledger, plan.id).heartbeat_at
    assert beat is not None and beat > utcnow() - timedelta(minutes=1)


def test_a_stale_attempt_does_nothing_at_start_progress_or_completion(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    chunk = task(project, "render_chunk", attempt=2)
    create(ledger, queue, project, [chunk])
    before = log(ledger, project.id)
    with ledger.transaction() as tx:
        assert pipeline.start_task(tx, chunk.id, 1) is None
    assert start(ledger, chunk.id, 2)
    after_start = log(ledger, project.id)
    with ledger.transaction() as tx:
        assert not pipeline.report_progress(tx, chunk.id, 1, frame=5, frames=10, eta_s=1.0)
        assert pipeline.complete_task(tx, chunk.id, 1, TaskOutcome(assets=[video(project, chunk)])) is None
        assert not pipeline.fail_task(tx, chunk.id, 1, {"code": "x", "message": "y"})
    assert log(ledger, project.id)[: len(before)] == before
    assert log(ledger, project.id) == after_start
    stored = stored_task(ledger, chunk.id)
    assert (stored.status, stored.attempt, stored.progress) == (Status.RUNNING, 2, 0.0)
    with ledger.read() as tx:
        assert tx.assets(project.id) == []


def test_progress_is_recorded_for_the_running_attempt_only(ledger: FakeLedger, queue: FakeJobQueue) -> None:
    project = new_project()
    chunk, other = task(project, "render_chunk"), task(project, "render_chunk")
    create(ledger, queue, project, [chunk, other])
    with ledger.transaction() as tx:
        assert not pipeline.report_progress(tx, chunk.id, 1, frame=1, frames=4, eta_s=None)  # not started
    start(ledger, chunk.id)
    with ledger.transaction() as tx:
        assert pipeline.report_progress(tx, chunk.id, 1, frame=30, frames=120, eta_s=1.2345)
        assert pipeline.report_progress(tx, chunk.id, 1, frame=7, frames=0, eta_s=None)
    first, second = log(ledger, project.id)[-2:]
    assert first.type == EventType.RENDER_PROGRESS
    assert first.data == {
        "task_id": chunk.id,
        "kind": "render_chunk",
        "progress": 0.25,
        "frame": 30,
        "frames": 120,
        "eta_s": 1.23,
    }
    assert second.data["progress"] == 0.0  # no frame count: no division by zero
    assert stored_task(ledger, chunk.id).progress == 0.0


def test_a_duplicate_delivery_of_a_completed_task_does_nothing(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    plan = task(project, "plan")
    poster = task(project, "poster", depends_on=[plan])
    create(ledger, queue, project, [plan, poster])
    assert [t.id for t in run(ledger, queue, plan.id) or []] == [poster.id]
    before, sent, commits = log(ledger, project.id), list(queue.sent), ledger.commits
    with ledger.transaction() as tx:
        assert pipeline.start_task(tx, plan.id, 1) is None
        assert (
            pipeline.complete_task(tx, plan.id, 1, TaskOutcome(new_tasks=[task(project, "poster")])) is None
        )
    assert log(ledger, project.id) == before
    assert queue.sent == sent and ledger.commits == commits + 1
    with ledger.read() as tx:
        assert len(tx.tasks(project.id)) == 2


def test_a_re_delivered_task_that_stored_its_file_again_announces_it_once(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    poster, other = task(project, "poster"), task(project, "spritesheet")
    create(ledger, queue, project, [poster, other])
    file = video(project, poster)
    with ledger.transaction() as tx:
        tx.add_asset(file)  # an earlier delivery of this attempt stored it and died before completing
    run(ledger, queue, poster.id, outcome=TaskOutcome(assets=[file]))
    assert types(ledger, project.id).count(EventType.FILE) == 0
    with ledger.read() as tx:
        assert [a.id for a in tx.assets(project.id)] == [file.id]


# -- fan-in ---------------------------------------------------------------------------------------------


def test_compose_becomes_ready_exactly_once_when_the_last_chunk_completes(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    chunks, compose = fan_in(project)
    create(ledger, queue, project, [*chunks, compose])
    assert run(ledger, queue, chunks[0].id) == []
    assert run(ledger, queue, chunks[2].id) == []
    assert compose.id not in queue.sent_ids()
    assert [t.id for t in run(ledger, queue, chunks[1].id) or []] == [compose.id]
    assert complete(ledger, queue, chunks[1].id) is None  # the last chunk's completion, delivered twice
    with ledger.transaction() as tx:
        assert pipeline.ready_to_send(tx, project.id) == []
    assert queue.sent_ids().count(compose.id) == 1
    assert ledger.outbox_rows() == []
    compose_events = [e for e in log(ledger, project.id) if e.data.get("task_id") == compose.id]
    assert [e.data["status"] for e in compose_events] == ["queued"]


def test_fan_in_fires_once_when_the_last_chunks_finish_on_two_threads(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    for _ in range(10):
        project = new_project()
        chunks, compose = fan_in(project, chunks=2)
        create(ledger, queue, project, [*chunks, compose])
        for chunk in chunks:
            start(ledger, chunk.id)
        gate = threading.Barrier(2)
        results: list[list[str]] = []

        def finish(task_id: str, gate: threading.Barrier, results: list[list[str]]) -> None:
            gate.wait()
            with ledger.transaction() as tx:
                done = pipeline.complete_task(tx, task_id, 1, TaskOutcome())
            results.append([t.id for t in done or []])

        threads = [threading.Thread(target=finish, args=(c.id, gate, results)) for c in chunks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [[], [compose.id]]


# -- the end of a project -------------------------------------------------------------------------------


def test_render_result_comes_before_completed_and_the_terminal_status_is_last(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    chunks, compose = fan_in(project, chunks=1)
    poster = task(project, "poster")
    create(ledger, queue, project, [*chunks, compose, poster])
    poster_file = video(project, poster, name="poster.jpg")
    poster_file.kind = AssetKind.POSTER
    run(ledger, queue, poster.id, outcome=TaskOutcome(assets=[poster_file]))
    run(ledger, queue, chunks[0].id)
    file = video(project, compose)
    run(ledger, queue, compose.id, outcome=TaskOutcome(assets=[file]))
    events = log(ledger, project.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events[-3:]] == [
        EventType.TASK_STATUS,
        EventType.RENDER_RESULT,
        EventType.PROJECT_STATUS,
    ]
    assert events[-1].data == {"status": "completed", "terminal": True}
    result = {
        "url": file.url,
        "poster_url": poster_file.url,
        "duration_s": 1.0,
        "width": 640,
        "height": 360,
        "asset_id": file.id,
    }
    assert events[-2].data == {"object": result}
    done = stored_project(ledger, project.id)
    assert (done.status, done.result, done.error) == (Status.COMPLETED, result, None)
    assert done.completed_at is not None and done.last_seq == events[-1].seq
    file_events = [e for e in events if e.type == EventType.FILE]
    assert [e.data["asset"]["id"] for e in file_events] == [poster_file.id, file.id]
    assert file_events[1].seq < events[-2].seq  # the file before the result that names it


def test_every_task_done_without_a_video_fails_the_project(ledger: FakeLedger, queue: FakeJobQueue) -> None:
    project = new_project()
    plan = task(project, "plan")
    create(ledger, queue, project, [plan])
    run(ledger, queue, plan.id)
    done = stored_project(ledger, project.id)
    assert done.status is Status.FAILED and done.error is not None and done.error["code"] == "no_video"
    assert log(ledger, project.id)[-1].data["status"] == "failed"
    assert EventType.RENDER_RESULT not in types(ledger, project.id)


def test_new_tasks_of_an_outcome_go_after_the_others_and_are_announced(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    plan = task(project, "plan")
    create(ledger, queue, project, [plan])
    start(ledger, plan.id)
    poster = task(project, "poster", depends_on=[plan])
    chunk = task(project, "render_chunk", depends_on=[plan])
    compose = task(project, "compose", depends_on=[chunk])
    timeline = {"scenes": [{"duration_s": 1}]}
    sent = complete(
        ledger, queue, plan.id, outcome=TaskOutcome(timeline=timeline, new_tasks=[poster, chunk, compose])
    )
    assert [t.id for t in sent or []] == [poster.id, chunk.id]
    with ledger.read() as tx:
        assert [(t.id, t.position) for t in tx.tasks(project.id)] == [
            (plan.id, 0),
            (poster.id, 1),
            (chunk.id, 2),
            (compose.id, 3),
        ]
    assert stored_project(ledger, project.id).timeline == timeline
    queued = [
        e.data["task_id"]
        for e in log(ledger, project.id)
        if e.data.get("status") == "queued" and "task_id" in e.data
    ]
    assert queued == [plan.id, poster.id, chunk.id, compose.id]
    assert queue.sent_ids() == [plan.id, poster.id, chunk.id]


def test_a_failed_task_fails_the_project_and_cancels_the_rest(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    chunks, compose = fan_in(project, chunks=2)
    create(ledger, queue, project, [*chunks, compose])
    run(ledger, queue, chunks[0].id)
    start(ledger, chunks[1].id)
    error = {"code": "render_failed", "message": "The encoder gave up."}
    with ledger.transaction() as tx:
        assert pipeline.fail_task(tx, chunks[1].id, 1, error)
    with ledger.read() as tx:
        statuses = {t.id: t.status for t in tx.tasks(project.id)}
    assert statuses == {
        chunks[0].id: Status.COMPLETED,
        chunks[1].id: Status.FAILED,
        compose.id: Status.CANCELLED,
    }
    failed = stored_project(ledger, project.id)
    assert (failed.status, failed.error) == (Status.FAILED, error)
    assert log(ledger, project.id)[-1].data == {"status": "failed", "terminal": True, "error": error}
    with ledger.transaction() as tx:
        assert not pipeline.fail_task(tx, chunks[1].id, 1, error)  # once is enough


def test_work_finishing_after_a_cancel_is_discarded(ledger: FakeLedger, queue: FakeJobQueue) -> None:
    project = new_project()
    chunks, compose = fan_in(project, chunks=2)
    create(ledger, queue, project, [*chunks, compose])
    start(ledger, chunks[0].id)
    with ledger.transaction() as tx:
        assert pipeline.cancel_project(tx, tx.project(project.id, lock=True))
    with ledger.transaction() as tx:
        assert not pipeline.cancel_project(tx, tx.project(project.id, lock=True))  # already ended
    end = log(ledger, project.id)
    assert end[-1].data["status"] == "cancelled" and end[-1].data["terminal"] is True
    assert (
        complete(ledger, queue, chunks[0].id, outcome=TaskOutcome(assets=[video(project, chunks[0])])) is None
    )
    assert not start(ledger, chunks[1].id)
    with ledger.transaction() as tx:
        assert not pipeline.report_progress(tx, chunks[0].id, 1, frame=1, frames=2, eta_s=None)
        assert tx.assets(project.id) == []
    assert log(ledger, project.id) == end


# -- fresh attempts -------------------------------------------------------------------------------------


def test_retry_reruns_only_what_did_not_complete_with_the_next_attempt(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    chunks, compose = fan_in(project, chunks=2)
    create(ledger, queue, project, [*chunks, compose])
    run(ledger, queue, chunks[0].id)
    start(ledger, chunks[1].id)
    with ledger.transaction() as tx:
        pipeline.fail_task(tx, chunks[1].id, 1, {"code": "x", "message": "y"})
    failed_seq = stored_project(ledger, project.id).last_seq
    with ledger.transaction() as tx:
        ready = pipeline.retry_project(tx, tx.project(project.id, lock=True))
    assert [(t.id, t.attempt) for t in ready] == [(chunks[1].id, 2)]
    with ledger.read() as tx:
        after = {t.id: t for t in tx.tasks(project.id)}
    assert (after[chunks[0].id].status, after[chunks[0].id].attempt) == (Status.COMPLETED, 1)
    again = after[chunks[1].id]
    assert (again.status, again.attempt, again.error, again.started_at, again.finished_at) == (
        Status.QUEUED,
        2,
        None,
        None,
        None,
    )
    assert (after[compose.id].status, after[compose.id].attempt, after[compose.id].enqueued_at) == (
        Status.QUEUED,
        2,
        None,
    )
    project_now = stored_project(ledger, project.id)
    assert (project_now.status, project_now.error) == (Status.QUEUED, None)
    tail = log(ledger, project.id)
    assert tail[-1].seq > failed_seq and tail[-1].data == {"status": "queued", "terminal": False}
    assert ledger.outbox_rows() == [(chunks[1].id, 2)]


def test_a_requeue_only_applies_to_the_task_as_the_caller_saw_it(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    chunk = task(project, "render_chunk")
    create(ledger, queue, project, [chunk])
    start(ledger, chunk.id)
    with ledger.transaction() as tx:
        assert pipeline.requeue_task(tx, chunk.id, expect=Status.QUEUED, attempt=1) == []
        assert pipeline.requeue_task(tx, chunk.id, expect=Status.RUNNING, attempt=2) == []
        # its heartbeat is newer than the cut-off: a redelivery started it again since the caller looked
        assert (
            pipeline.requeue_task(
                tx, chunk.id, expect=Status.RUNNING, attempt=1, silent_since=utcnow() - timedelta(minutes=1)
            )
            == []
        )
        requeued = pipeline.requeue_task(
            tx, chunk.id, expect=Status.RUNNING, attempt=1, silent_since=utcnow()
        )
    assert [(t.id, t.attempt) for t in requeued] == [(chunk.id, 2)]
    fresh = stored_task(ledger, chunk.id)
    assert (fresh.status, fresh.heartbeat_at, fresh.message_id, fresh.sent_at) == (
        Status.QUEUED,
        None,
        None,
        None,
    )


def test_reconcile_gives_every_runnable_unfinished_task_a_fresh_attempt(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    plan = task(project, "plan")
    poster, chunk = (
        task(project, "poster", depends_on=[plan]),
        task(project, "render_chunk", depends_on=[plan]),
    )
    compose = task(project, "compose", depends_on=[chunk])
    create(ledger, queue, project, [plan, poster, chunk, compose])
    run(ledger, queue, plan.id)
    start(ledger, poster.id)
    with ledger.transaction() as tx:
        sent = pipeline.reconcile_project(tx, tx.project(project.id, lock=True))
    assert sorted((t.id, t.attempt) for t in sent) == sorted([(poster.id, 2), (chunk.id, 2)])
    assert stored_task(ledger, compose.id).attempt == 1  # not runnable yet: left alone
    assert stored_task(ledger, plan.id).attempt == 1


def test_a_status_move_the_transition_table_refuses_changes_nothing(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = new_project()
    compose = task(project, "compose")
    create(ledger, queue, project, [compose])
    run(ledger, queue, compose.id, outcome=TaskOutcome(assets=[video(project, compose)]))
    before = (log(ledger, project.id), stored_task(ledger, compose.id))
    with pytest.raises(Conflict) as caught, ledger.transaction() as tx:
        pipeline.retry_project(tx, tx.project(project.id, lock=True))  # a completed project never changes
    assert caught.value.code == "invalid_transition"
    assert (log(ledger, project.id), stored_task(ledger, compose.id)) == before
    assert stored_project(ledger, project.id).status is Status.COMPLETED
