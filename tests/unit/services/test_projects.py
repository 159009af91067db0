"""ProjectService on the fakes: submit (and its Idempotency-Key), the timeline's file references, cancel,
retry, delete, deliver, the snapshot, polling, the gallery and the start-up reconcile."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from framecast.domain.errors import Conflict, IdempotencyConflict, InvalidInput, NotFound
from framecast.domain.events import EventType
from framecast.domain.models import PLAN_KIND, Asset, Project, utcnow
from framecast.domain.options import ProjectRequest
from framecast.domain.status import Status
from framecast.services import pipeline
from framecast.services.pipeline import TaskOutcome
from framecast.services.projects import ProjectService
from tests.fakes import FakeJobQueue, FakeLedger, FakeLedgerSession, FakeMediaStore
from tests.unit.support import fan_in, log, run, start, stored_project, stored_task, task, types, video

#: As the task registry weighs them (jobs/handlers.py), without importing the renderers here.
WEIGHTS = {"render_chunk": 8.0, "compose": 1.0}


@pytest.fixture
def service(ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore) -> ProjectService:
    return ProjectService(ledger, queue, media, progress_weights=WEIGHTS)


def _submit(service: ProjectService, owner: str = "alice", **body: Any) -> Project:
    project, created = service.submit(ProjectRequest(**{"prompt": "A red fox", **body}), owner=owner)
    assert created
    return project


def _image_timeline(asset_id: str) -> dict[str, Any]:
    return {"scenes": [{"duration_s": 1, "layers": [{"type": "image", "asset_id": asset_id}]}]}


def _upload(ledger: FakeLedger, asset_id: str, owner: str, project_id: str | None = None) -> None:
    with ledger.transaction() as tx:
        tx.add_asset(
            Asset(
                id=asset_id,
                kind="image",
                filename="a.png",
                key=f"uploads/{asset_id}/a.png",
                mime="image/png",
                size=10,
                owner=owner,
                project_id=project_id,
            )
        )


def _fail_plan(ledger: FakeLedger, project: Project) -> str:
    with ledger.read() as tx:
        (plan,) = tx.tasks(project.id)
    start(ledger, plan.id)
    with ledger.transaction() as tx:
        pipeline.fail_task(tx, plan.id, 1, {"code": "boom", "message": "It broke."})
    return plan.id


# -- submit ---------------------------------------------------------------------------------------------


def test_submit_creates_a_queued_project_with_a_plan_task_and_sends_it(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = _submit(service, duration_s=2, resolution="360p")
    with ledger.read() as tx:
        stored = tx.project(project.id, owner="alice")
        tasks = tx.tasks(project.id)
    assert stored.status is Status.QUEUED and stored.prompt == "A red fox"
    assert stored.options["duration_s"] == 2 and stored.options["resolution"] == "360p"
    assert [(t.kind, t.attempt, t.status) for t in tasks] == [(PLAN_KIND, 1, Status.QUEUED)]
    assert queue.sent == [(tasks[0].id, 1)]
    assert ledger.outbox_rows() == []  # sent, so its row was cleared
    assert stored_task(ledger, tasks[0].id).message_id == queue.messages[0].message_id
    assert [(e.seq, e.type, e.data.get("status")) for e in log(ledger, project.id)] == [
        (1, EventType.PROJECT_STATUS, "queued"),
        (2, EventType.TASK_STATUS, "queued"),
    ]


def test_a_submit_the_broker_refuses_is_still_created_and_left_in_the_outbox(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    queue.down = True
    project = _submit(service)
    with ledger.read() as tx:
        (plan,) = tx.tasks(project.id)
    assert ledger.outbox_rows() == [(plan.id, 1)] and queue.sent == []


def test_the_same_idempotency_key_and_body_returns_the_same_project(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    request = ProjectRequest(prompt="A red fox", duration_s=3)
    first, created = service.submit(request, owner="alice", idempotency_key="key-1")
    again, created_again = service.submit(
        ProjectRequest(prompt="A red fox", duration_s=3), owner="alice", idempotency_key="key-1"
    )
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert len(queue.sent) == 1
    assert len(log(ledger, first.id)) == 2
    other_owner, created_other = service.submit(request, owner="bob", idempotency_key="key-1")
    assert created_other and other_owner.id != first.id  # keys are per owner


def test_the_same_idempotency_key_with_another_body_is_a_conflict(
    service: ProjectService, queue: FakeJobQueue
) -> None:
    service.submit(ProjectRequest(prompt="A red fox"), owner="alice", idempotency_key="key-1")
    with pytest.raises(IdempotencyConflict) as caught:
        service.submit(ProjectRequest(prompt="A blue fox"), owner="alice", idempotency_key="key-1")
    assert caught.value.code == "idempotency_key_reused"
    assert len(queue.sent) == 1


@pytest.mark.parametrize("key", ["", "k" * 201])
def test_an_idempotency_key_must_be_1_to_200_characters(service: ProjectService, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.submit(ProjectRequest(prompt="A red fox"), owner="alice", idempotency_key=key)
    assert caught.value.code == "invalid_idempotency_key"


def test_a_key_that_a_concurrent_request_used_first_returns_that_project(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The concurrent request commits between this one's look-up of the key and its insert."""
    winner, _ = service.submit(ProjectRequest(prompt="A red fox"), owner="alice", idempotency_key="key-1")
    real = FakeLedgerSession.project_by_idempotency_key
    looked: list[str] = []

    def not_yet(self: FakeLedgerSession, owner: str, key: str) -> Project | None:
        looked.append(key)
        return None if len(looked) == 1 else real(self, owner, key)

    monkeypatch.setattr(FakeLedgerSession, "project_by_idempotency_key", not_yet)
    project, created = service.submit(
        ProjectRequest(prompt="A red fox"), owner="alice", idempotency_key="key-1"
    )
    assert (project.id, created) == (winner.id, False)
    assert looked == ["key-1", "key-1"]
    assert len(queue.sent) == 1


def test_a_timeline_may_use_the_callers_own_uploads(service: ProjectService, ledger: FakeLedger) -> None:
    _upload(ledger, "ast_mine", owner="alice")
    project, created = service.submit(ProjectRequest(timeline=_image_timeline("ast_mine")), owner="alice")
    assert created
    timeline = stored_project(ledger, project.id).timeline
    assert timeline is not None and timeline["scenes"][0]["layers"][0]["asset_id"] == "ast_mine"


@pytest.mark.parametrize("whose", ["another owner's upload", "a file of a project", "no file at all"])
def test_a_timeline_naming_a_file_the_caller_does_not_own_is_refused(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue, whose: str
) -> None:
    if whose == "another owner's upload":
        _upload(ledger, "ast_x", owner="bob")
    elif whose == "a file of a project":
        other = _submit(service, owner="alice")
        _upload(ledger, "ast_x", owner="alice", project_id=other.id)
    sent = list(queue.sent)
    with pytest.raises(InvalidInput) as caught:
        service.submit(ProjectRequest(timeline=_image_timeline("ast_x")), owner="alice")
    assert caught.value.code == "unknown_asset"
    assert caught.value.field == "timeline.scenes.0.layers.0.asset_id"
    with ledger.read() as tx:
        assert [p.id for p in tx.active_projects()] == ([other.id] if whose == "a file of a project" else [])
    assert queue.sent == sent


def test_a_timeline_naming_another_owners_upload_as_its_music_is_refused(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    _upload(ledger, "ast_song", owner="bob")
    timeline = {"scenes": [{"duration_s": 1}], "audio": {"music": "upload", "music_asset_id": "ast_song"}}
    with pytest.raises(InvalidInput) as caught:
        service.submit(ProjectRequest(timeline=timeline), owner="alice")
    assert caught.value.code == "unknown_asset"
    assert queue.sent == []


# -- cancel ---------------------------------------------------------------------------------------------


def test_cancel_marks_unfinished_tasks_cancelled_and_ends_the_log(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = _submit(service)
    with ledger.read() as tx:
        (plan,) = tx.tasks(project.id)
    start(ledger, plan.id)
    snapshot = service.cancel(project.id, owner="alice")
    assert (snapshot["status"], snapshot["terminal"]) == ("cancelled", True)
    assert snapshot["error"] == {"code": "cancelled", "message": "The project was cancelled."}
    assert [t["status"] for t in snapshot["tasks"]] == ["cancelled"]
    assert stored_task(ledger, plan.id).finished_at is not None
    events = log(ledger, project.id)
    assert events[-2].data["task_id"] == plan.id and events[-2].data["status"] == "cancelled"
    assert events[-1].type == EventType.PROJECT_STATUS
    assert events[-1].data == {"status": "cancelled", "terminal": True, "error": snapshot["error"]}
    assert snapshot["last_seq"] == events[-1].seq
    again = service.cancel(project.id, owner="alice")  # cancelling a cancelled project changes nothing
    assert again["last_seq"] == snapshot["last_seq"]


def test_cancel_of_a_completed_project_is_a_conflict(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = _submit(service)
    with ledger.read() as tx:
        (plan,) = tx.tasks(project.id)
    compose = task(project, "compose", depends_on=[plan])
    run(ledger, queue, plan.id, outcome=TaskOutcome(new_tasks=[compose]))
    run(ledger, queue, compose.id, outcome=TaskOutcome(assets=[video(project, compose)]))
    assert stored_project(ledger, project.id).status is Status.COMPLETED
    last_seq = stored_project(ledger, project.id).last_seq
    with pytest.raises(Conflict) as caught:
        service.cancel(project.id, owner="alice")
    assert caught.value.code == "already_completed"
    assert stored_project(ledger, project.id).last_seq == last_seq


def test_another_owners_project_answers_as_a_missing_one(service: ProjectService) -> None:
    project = _submit(service, owner="alice")
    for call in (service.cancel, service.retry, service.snapshot, service.delete):
        with pytest.raises(NotFound) as caught:
            call(project.id, owner="bob")
        assert caught.value.code == "project_not_found"
    assert service.snapshot(project.id, owner="alice")["status"] == "queued"


# -- retry ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["queued", "running", "completed"])
def test_retry_is_only_for_a_failed_or_cancelled_project(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue, state: str
) -> None:
    project = _submit(service)
    with ledger.read() as tx:
        (plan,) = tx.tasks(project.id)
    if state != "queued":
        start(ledger, plan.id)
    if state == "completed":
        compose = task(project, "compose", depends_on=[plan])
        with ledger.transaction() as tx:
            pipeline.complete_task(tx, plan.id, 1, TaskOutcome(new_tasks=[compose]))
        run(ledger, queue, compose.id, outcome=TaskOutcome(assets=[video(project, compose)]))
    assert stored_project(ledger, project.id).status.value == state
    with pytest.raises(Conflict) as caught:
        service.retry(project.id, owner="alice")
    assert caught.value.code == "not_retryable"


def test_retry_reruns_only_the_failed_and_cancelled_tasks_with_the_next_attempt(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = _submit(service)
    with ledger.read() as tx:
        (plan,) = tx.tasks(project.id)
    chunks, compose = fan_in(project, chunks=3)
    run(ledger, queue, plan.id, outcome=TaskOutcome(new_tasks=[*chunks, compose]))
    run(ledger, queue, chunks[0].id)
    start(ledger, chunks[1].id)
    with ledger.transaction() as tx:
        pipeline.fail_task(tx, chunks[1].id, 1, {"code": "boom", "message": "It broke."})
    failed_at = stored_project(ledger, project.id).last_seq
    queue.clear()

    snapshot = service.retry(project.id, owner="alice")

    assert (snapshot["status"], snapshot["error"]) == ("queued", None)
    attempts = {t["id"]: (t["status"], t["attempt"]) for t in snapshot["tasks"]}
    assert attempts == {
        plan.id: ("completed", 1),
        chunks[0].id: ("completed", 1),
        chunks[1].id: ("queued", 2),
        chunks[2].id: ("queued", 2),  # cancelled when its sibling failed
        compose.id: ("queued", 2),
    }
    assert sorted(queue.sent) == sorted([(chunks[1].id, 2), (chunks[2].id, 2)])  # compose waits for them
    retried = log(ledger, project.id)[failed_at:]
    assert [e.seq for e in retried] == list(range(failed_at + 1, failed_at + 1 + len(retried)))
    assert retried[-1].data == {"status": "queued", "terminal": False}
    run(ledger, queue, chunks[1].id, attempt=2)
    assert [t.id for t in run(ledger, queue, chunks[2].id, attempt=2) or []] == [compose.id]


def test_retry_of_a_cancelled_project_starts_again_from_its_plan(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project = _submit(service)
    with ledger.read() as tx:
        (plan,) = tx.tasks(project.id)
    service.cancel(project.id, owner="alice")
    service.retry(project.id, owner="alice")
    assert queue.sent == [(plan.id, 1), (plan.id, 2)]
    assert not start(ledger, plan.id, 1)  # the first attempt's message, if it ever arrives, does nothing
    assert start(ledger, plan.id, 2)


# -- delete, deliver ------------------------------------------------------------------------------------


def test_delete_removes_the_project_and_its_files(
    service: ProjectService, ledger: FakeLedger, media: FakeMediaStore
) -> None:
    project, kept = _submit(service), _submit(service)
    media.write(f"{project.id}/ast_1/video.mp4", b"v")
    media.write(f"{kept.id}/ast_2/video.mp4", b"v")
    service.delete(project.id, owner="alice")
    with pytest.raises(NotFound):
        service.snapshot(project.id, owner="alice")
    assert media.keys() == [f"{kept.id}/ast_2/video.mp4"]
    assert ledger.events_after(project.id, 0) == []


def test_delete_during_a_storage_outage_still_deletes_the_project(
    service: ProjectService, media: FakeMediaStore, caplog: pytest.LogCaptureFixture
) -> None:
    project = _submit(service)
    media.write(f"{project.id}/ast_1/video.mp4", b"v")
    media.down = True
    with caplog.at_level(logging.WARNING):
        service.delete(project.id, owner="alice")
    with pytest.raises(NotFound):
        service.project(project.id, owner="alice")
    assert "media sweep" in caplog.text
    media.down = False
    assert media.keys() == [f"{project.id}/ast_1/video.mp4"]  # left for the sweep


def test_deliver_records_the_first_confirmation_only(service: ProjectService, ledger: FakeLedger) -> None:
    project = _submit(service)
    with pytest.raises(InvalidInput) as caught:
        service.deliver(project.id, owner="alice", seq=3)  # the log has 2 events
    assert caught.value.field == "seq"
    first = service.deliver(project.id, owner="alice", seq=2)
    assert first["delivered_at"] is not None
    again = service.deliver(project.id, owner="alice", seq=1)
    assert again["delivered_at"] == first["delivered_at"]
    assert stored_project(ledger, project.id).delivered_seq == 2


# -- queries --------------------------------------------------------------------------------------------


def test_the_snapshot_shows_the_queue_position_progress_and_poll_interval(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    first, second = _submit(service), _submit(service)
    waiting = service.snapshot(second.id, owner="alice")
    assert (waiting["queue_position"], waiting["next_poll_ms"], waiting["progress"]) == (1, 2000, 0.0)
    with ledger.read() as tx:
        (plan,) = tx.tasks(first.id)
    start(ledger, plan.id)
    running = service.snapshot(first.id, owner="alice")
    assert (running["queue_position"], running["next_poll_ms"], running["status"]) == (None, 1000, "running")
    chunk = task(first, "render_chunk", depends_on=[plan])
    with ledger.transaction() as tx:
        pipeline.complete_task(tx, plan.id, 1, TaskOutcome(new_tasks=[chunk]))
    assert service.snapshot(first.id, owner="alice")["progress"] == round(0.5 / 8.5, 4)
    service.cancel(first.id, owner="alice")
    assert service.snapshot(first.id, owner="alice")["next_poll_ms"] is None
    assert service.snapshot(second.id, owner="alice")["queue_position"] == 0


def test_polling_is_terminal_only_once_the_last_event_was_read(service: ProjectService) -> None:
    project = _submit(service)
    service.cancel(project.id, owner="alice")
    last = service.snapshot(project.id, owner="alice")["last_seq"]
    page = service.poll(project.id, owner="alice", after=0, limit=2)
    assert [e["seq"] for e in page["events"]] == [1, 2] and not page["terminal"]
    rest = service.poll(project.id, owner="alice", after=2)
    assert rest["events"][-1]["seq"] == last and rest["terminal"] and rest["next_poll_ms"] is None
    assert service.poll(project.id, owner="alice", after=last)["terminal"]


def test_the_gallery_pages_through_completed_videos_newest_first(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    done = []
    for i in range(5):
        project = _submit(service)
        with ledger.transaction() as tx:
            tx.update_project(
                project.id, status=Status.COMPLETED, completed_at=utcnow() + timedelta(seconds=i)
            )
        done.append(project.id)
    _submit(service)  # still queued
    pages: list[str] = []
    cursor = None
    for _ in range(3):
        page = service.list_videos(owner="alice", limit=2, cursor=cursor)
        pages.extend(item["project_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == done[::-1]
    assert cursor is None
    assert service.list_videos(owner="bob")["items"] == []
    with pytest.raises(InvalidInput):
        service.list_videos(owner="alice", cursor="not-a-cursor!")


def test_an_unknown_asset_is_not_found(service: ProjectService) -> None:
    with pytest.raises(NotFound) as caught:
        service.asset("ast_missing")
    assert caught.value.code == "asset_not_found"


def test_reconcile_resends_the_unfinished_tasks_of_active_projects_only(
    service: ProjectService, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    active, ended = _submit(service), _submit(service)
    _fail_plan(ledger, ended)
    with ledger.read() as tx:
        (plan,) = tx.tasks(active.id)
    start(ledger, plan.id)
    queue.clear()
    assert service.reconcile() == 1
    assert queue.sent == [(plan.id, 2)]
    assert types(ledger, active.id)[-1] == EventType.TASK_STATUS
