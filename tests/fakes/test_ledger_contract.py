"""One set of assertions, run against FakeLedger and the real SqlLedger (SQLite; Postgres when reachable), so
the fake cannot drift from what the services rely on: transactions, per-project seq, owner filtering, the
orders of the queries, what inserts leave out, the outbox, heartbeats and the gallery's pagination."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from framecast.domain.errors import AlreadyExists, NotFound
from framecast.domain.identity import ApiKey
from framecast.domain.models import Asset, Event, Project, Task, new_id, utcnow
from framecast.domain.status import Status
from framecast.ledger.engine import make_engine
from framecast.ledger.migrate import upgrade
from framecast.ledger.repository import SqlLedger
from framecast.services.ports import Ledger
from tests.fakes import FakeLedger

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=utcnow().tzinfo)


@pytest.fixture(params=["fake", "sqlite", "postgres"])
def any_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeLedger | SqlLedger]:
    if request.param == "fake":
        yield FakeLedger()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    engine = make_engine(url)
    upgrade(engine)
    yield SqlLedger(engine)
    engine.dispose()


def _project(ledger: Ledger, owner: str = "local", **fields: object) -> Project:
    project = Project(id=new_id("prj"), owner=owner, prompt="p", options={"fps": 30}, **fields)  # type: ignore[arg-type]
    with ledger.transaction() as tx:
        tx.add_project(project)
    return project


def _tasks(ledger: Ledger, project_id: str, count: int, **fields: object) -> list[Task]:
    new = [Task(id=new_id("tsk"), project_id=project_id, kind="render_chunk", **fields) for _ in range(count)]  # type: ignore[arg-type]
    with ledger.transaction() as tx:
        tx.add_tasks(new)
    return new


def _task(ledger: Ledger, task_id: str) -> Task:
    with ledger.read() as tx:
        return tx.task(task_id)


# -- transactions and reads -----------------------------------------------------------------------------


def test_a_transaction_that_raises_leaves_nothing(any_ledger: Ledger) -> None:
    kept = _project(any_ledger)
    pid = new_id("prj")
    with pytest.raises(RuntimeError), any_ledger.transaction() as tx:
        tx.add_project(Project(id=pid, owner="local", prompt="p", options={}))
        tx.append_event(pid, "task_status", {"i": 1})
        tx.update_project(kept.id, status=Status.RUNNING)
        tx.append_event(kept.id, "task_status", {"i": 1})
        raise RuntimeError("boom")
    with any_ledger.read() as tx:
        with pytest.raises(NotFound):
            tx.project(pid)
        after = tx.project(kept.id)
    assert (after.status, after.last_seq) == (Status.QUEUED, 0)
    assert any_ledger.events_after(pid, 0) == [] and any_ledger.events_after(kept.id, 0) == []


def test_a_transaction_reads_its_own_writes(any_ledger: Ledger) -> None:
    project = _project(any_ledger)
    with any_ledger.transaction() as tx:
        tx.update_project(project.id, status=Status.RUNNING)
        tx.append_event(project.id, "project_status", {"status": "running"})
        seen = tx.project(project.id, lock=True)
    assert (seen.status, seen.last_seq) == (Status.RUNNING, 1)


def test_project_filters_by_owner_like_a_missing_one(any_ledger: Ledger) -> None:
    project = _project(any_ledger, owner="alice")
    with any_ledger.read() as tx:
        assert tx.project(project.id).owner == "alice"
        assert tx.project(project.id, owner="alice", lock=True).id == project.id
        with pytest.raises(NotFound) as other:
            tx.project(project.id, owner="bob")
        with pytest.raises(NotFound) as missing:
            tx.project("prj_missing", owner="bob")
        with pytest.raises(NotFound) as no_task:
            tx.task("tsk_missing")
        assert tx.asset("ast_missing") is None
    assert other.value.code == missing.value.code == "project_not_found"
    assert other.value.message.replace(project.id, "X") == missing.value.message.replace("prj_missing", "X")
    assert no_task.value.code == "task_not_found"


def test_records_read_are_copies(any_ledger: Ledger) -> None:
    project = _project(any_ledger)
    (task,) = _tasks(any_ledger, project.id, 1, params={"index": 0})
    with any_ledger.read() as tx:
        read = tx.task(task.id)
        read.status = Status.FAILED
        read.params["index"] = 9
        tx.project(project.id).options["fps"] = 60
    task.params["index"] = 7  # the object that was inserted is not the stored row either
    with any_ledger.read() as tx:
        again = tx.task(task.id)
        assert tx.project(project.id).options == {"fps": 30}
    assert (again.status, again.params) == (Status.QUEUED, {"index": 0})


# -- inserts and updates --------------------------------------------------------------------------------


def test_an_inserted_project_starts_with_no_seq_and_no_completion(any_ledger: Ledger) -> None:
    project = _project(any_ledger, last_seq=5, completed_at=T0, delivered_at=T0, delivered_seq=3)
    with any_ledger.read() as tx:
        stored = tx.project(project.id)
    assert stored.last_seq == 0
    assert [stored.completed_at, stored.delivered_at, stored.delivered_seq] == [None] * 3
    assert stored.created_at == project.created_at and stored.status is Status.QUEUED


def test_an_inserted_task_keeps_its_plan_and_drops_its_history(any_ledger: Ledger) -> None:
    project = _project(any_ledger)
    (task,) = _tasks(
        any_ledger,
        project.id,
        1,
        attempt=3,
        progress=0.5,
        depends_on=["tsk_a"],
        params={"range": (0, 10)},
        position=4,
        enqueued_at=T0,
        started_at=T0,
        finished_at=T0,
        heartbeat_at=T0,
        message_id="m1",
        sent_at=T0,
    )
    stored = _task(any_ledger, task.id)
    assert (stored.attempt, stored.progress, stored.depends_on, stored.position) == (3, 0.5, ["tsk_a"], 4)
    assert stored.params == {"range": [0, 10]}  # JSON: a tuple comes back as a list
    assert stored.enqueued_at == T0
    history = [stored.started_at, stored.finished_at, stored.heartbeat_at, stored.message_id, stored.sent_at]
    assert history == [None] * 5


def test_updates_convert_statuses_and_touch_updated_at(any_ledger: Ledger) -> None:
    project = _project(any_ledger, created_at=T0, updated_at=T0)
    (task,) = _tasks(any_ledger, project.id, 1)
    with any_ledger.transaction() as tx:
        tx.update_project(project.id, status=Status.FAILED, error={"code": "x", "message": "y"})
        tx.update_task(task.id, status=Status.RUNNING, progress=0.25, error={"code": "e"})
        tx.mark_enqueued([task.id], T0)
        tx.update_project("prj_missing", status=Status.FAILED)  # matches no row: no error
    with any_ledger.read() as tx:
        stored = tx.project(project.id)
        stored_task = tx.task(task.id)
    assert stored.status is Status.FAILED and stored.error == {"code": "x", "message": "y"}
    assert stored.updated_at > T0
    assert (stored_task.status, stored_task.progress) == (Status.RUNNING, 0.25)
    assert stored_task.error == {"code": "e"}
    assert stored_task.enqueued_at == T0


def test_a_second_project_with_the_same_idempotency_key_already_exists(any_ledger: Ledger) -> None:
    first = _project(any_ledger, owner="alice", idempotency_key="k1", request_hash="h")
    with pytest.raises(AlreadyExists):
        _project(any_ledger, owner="alice", idempotency_key="k1")
    _project(any_ledger, owner="bob", idempotency_key="k1")  # keys are per owner
    _project(any_ledger, owner="alice")
    _project(any_ledger, owner="alice")  # no key: no clash
    with any_ledger.read() as tx:
        found = tx.project_by_idempotency_key("alice", "k1")
        assert tx.project_by_idempotency_key("alice", "k2") is None
        assert tx.project_by_idempotency_key("carol", "k1") is None
    assert found is not None and (found.id, found.request_hash) == (first.id, "h")


def test_assets_insert_once_and_list_by_creation(any_ledger: Ledger) -> None:
    project = _project(any_ledger)

    def asset(asset_id: str, at: datetime, project_id: str | None = project.id) -> Asset:
        return Asset(
            id=asset_id,
            kind="poster",
            filename="p.jpg",
            key=f"k/{asset_id}",
            mime="image/jpeg",
            size=3,
            project_id=project_id,
            meta={"w": 1},
            created_at=at,
        )

    with any_ledger.transaction() as tx:
        assert tx.add_asset(asset("ast_b", T0))
        assert tx.add_asset(asset("ast_c", T0 - timedelta(seconds=1)))
        assert tx.add_asset(asset("ast_a", T0))
        assert not tx.add_asset(asset("ast_a", T0 + timedelta(seconds=9)))
        assert tx.add_asset(asset("ast_upload", T0, project_id=None))
    with any_ledger.read() as tx:
        assert [a.id for a in tx.assets(project.id)] == ["ast_c", "ast_a", "ast_b"]
        upload = tx.asset("ast_upload")
    assert upload is not None and upload.project_id is None and upload.meta == {"w": 1}


# -- the event log --------------------------------------------------------------------------------------


def test_seq_is_per_project_and_assigned_at_append(any_ledger: Ledger) -> None:
    a, b = _project(any_ledger), _project(any_ledger)
    with any_ledger.transaction() as tx:
        first = tx.append_event(a.id, "task_status", {"n": 1})
        tx.append_event(b.id, "task_status", {"n": 1})
        batch = tx.append_events(a.id, [("task_status", {"n": 2}), ("file", {"n": 3})])
        assert tx.append_events(a.id, []) == []
    with any_ledger.transaction() as tx:
        later = tx.append_event(a.id, "project_status", {"status": "running", "terminal": False})
    assert [first.seq, *(e.seq for e in batch), later.seq] == [1, 2, 3, 4]
    with any_ledger.read() as tx:
        assert (tx.project(a.id).last_seq, tx.project(b.id).last_seq) == (4, 1)
    log = any_ledger.events_after(a.id, 0)
    assert [(e.seq, e.type, e.data) for e in log] == [
        (1, "task_status", {"n": 1}),
        (2, "task_status", {"n": 2}),
        (3, "file", {"n": 3}),
        (4, "project_status", {"status": "running", "terminal": False}),
    ]
    assert all(isinstance(e, Event) and e.project_id == a.id for e in log)


def test_appending_to_a_missing_project_is_not_found(any_ledger: Ledger) -> None:
    with pytest.raises(NotFound) as caught, any_ledger.transaction() as tx:
        tx.append_event("prj_missing", "task_status", {})
    assert caught.value.code == "project_not_found"


def test_events_after_a_cursor_in_order_with_a_limit(any_ledger: Ledger) -> None:
    project = _project(any_ledger)
    with any_ledger.transaction() as tx:
        tx.append_events(project.id, [("task_status", {"i": i}) for i in range(10)])
    assert [e.seq for e in any_ledger.events_after(project.id, 2, limit=3)] == [3, 4, 5]
    assert [e.seq for e in any_ledger.events_after(project.id, 8)] == [9, 10]
    assert any_ledger.events_after(project.id, 10) == []
    assert any_ledger.events_after(project.id, 99) == []
    assert any_ledger.events_after("prj_missing", 0) == []


def test_the_commit_hook_gets_each_committed_transactions_events(any_ledger: FakeLedger | SqlLedger) -> None:
    got: list[list[int]] = []
    any_ledger.set_commit_hook(lambda events: got.append([e.seq for e in events]))
    project = _project(any_ledger)
    with any_ledger.transaction() as tx:
        tx.append_events(project.id, [("task_status", {}), ("task_status", {})])
    with pytest.raises(RuntimeError), any_ledger.transaction() as tx:
        tx.append_event(project.id, "task_status", {})
        raise RuntimeError("rolled back")
    with any_ledger.transaction() as tx:
        tx.append_event(project.id, "task_status", {})
    assert got == [[1, 2], [3]]


def test_the_event_feed_lists_every_projects_events_in_commit_order(
    any_ledger: FakeLedger | SqlLedger,
) -> None:
    start = any_ledger.max_event_id()
    a, b = _project(any_ledger), _project(any_ledger)
    with any_ledger.transaction() as tx:
        tx.append_event(a.id, "task_status", {"n": 1})
        tx.append_event(b.id, "task_status", {"n": 2})
    with any_ledger.transaction() as tx:
        tx.append_events(a.id, [("task_status", {"n": 3}), ("file", {"n": 4})])
    last, events = any_ledger.events_since_id(start)
    assert [(e.project_id, e.seq, e.data["n"]) for e in events] == [
        (a.id, 1, 1),
        (b.id, 1, 2),
        (a.id, 2, 3),
        (a.id, 3, 4),
    ]
    assert last == any_ledger.max_event_id() > start
    first_id, first_two = any_ledger.events_since_id(start, limit=2)
    assert [e.data["n"] for e in first_two] == [1, 2]
    assert [e.data["n"] for e in any_ledger.events_since_id(first_id)[1]] == [3, 4]
    assert any_ledger.events_since_id(last) == (last, [])


def test_an_uncontested_leadership_is_held_and_released(any_ledger: Ledger) -> None:
    for _ in range(2):
        with any_ledger.leadership("reconciler") as leader:
            assert leader


# -- queries of the services ----------------------------------------------------------------------------


def test_active_projects_and_queue_position(any_ledger: Ledger) -> None:
    running = _project(any_ledger, created_at=T0)
    done = _project(any_ledger, created_at=T0 + timedelta(seconds=1))
    first = _project(any_ledger, created_at=T0 + timedelta(seconds=2))
    twins = [_project(any_ledger, created_at=T0 + timedelta(seconds=3)) for _ in range(2)]
    with any_ledger.transaction() as tx:
        tx.update_project(running.id, status=Status.RUNNING)
        tx.update_project(done.id, status=Status.COMPLETED)
    with any_ledger.read() as tx:
        active = {p.id for p in tx.active_projects()}
        assert active == {running.id, first.id, *(t.id for t in twins)}
        assert tx.queue_position(running.id) is None  # running: not waiting
        assert tx.queue_position(done.id) is None
        assert tx.queue_position("prj_missing") is None
        assert tx.queue_position(first.id) == 1  # the running one is ahead
        low, high = sorted(t.id for t in twins)  # created at the same instant: the id breaks the tie
        assert (tx.queue_position(low), tx.queue_position(high)) == (2, 3)
        assert tx.existing_project_ids([done.id, "prj_missing", first.id]) == {done.id, first.id}
        assert tx.existing_project_ids([]) == set()


def test_tasks_are_ordered_by_position_then_id(any_ledger: Ledger) -> None:
    project = _project(any_ledger)
    new = [
        Task(id=tid, project_id=project.id, kind="poster", position=pos)
        for tid, pos in [("tsk_c", 1), ("tsk_b", 2), ("tsk_a", 1), ("tsk_d", 0)]
    ]
    with any_ledger.transaction() as tx:
        tx.add_tasks(new)
        tx.add_tasks([])
    with any_ledger.read() as tx:
        assert [t.id for t in tx.tasks(project.id)] == ["tsk_d", "tsk_a", "tsk_c", "tsk_b"]
        assert tx.tasks("prj_missing") == []


def test_tasks_where_finds_old_or_unset_columns_in_a_status(any_ledger: Ledger) -> None:
    project = _project(any_ledger)
    old, fresh, never, queued = _tasks(any_ledger, project.id, 4)
    with any_ledger.transaction() as tx:
        for task in (old, fresh, never):
            tx.update_task(task.id, status=Status.RUNNING)
        tx.update_task(old.id, heartbeat_at=T0 - timedelta(seconds=30))
        tx.update_task(fresh.id, heartbeat_at=T0)
    with any_ledger.read() as tx:
        silent = {t.id for t in tx.tasks_where(status="running", before=T0, column="heartbeat_at")}
        waiting = {t.id for t in tx.tasks_where(status="queued", before=T0, column="sent_at")}
    assert silent == {old.id, never.id}
    assert waiting == {queued.id}


def test_the_gallery_is_newest_completed_first_and_pages_by_cursor(any_ledger: Ledger) -> None:
    done = [_project(any_ledger, owner="alice") for _ in range(4)]
    _project(any_ledger, owner="alice")  # queued: not in the gallery
    other = _project(any_ledger, owner="bob")
    times = [T0, T0 + timedelta(seconds=2), T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    with any_ledger.transaction() as tx:
        for project, at in zip(done, times, strict=True):
            tx.update_project(project.id, status=Status.COMPLETED, completed_at=at)
        tx.update_project(other.id, status=Status.COMPLETED, completed_at=T0)
    newest_two = sorted([done[1].id, done[3].id], reverse=True)
    expected = [*newest_two, done[2].id, done[0].id]
    assert [p.id for p in any_ledger.list_completed("alice", 10, None)] == expected
    page = any_ledger.list_completed("alice", 2, None)
    assert [p.id for p in page] == expected[:2]
    last = page[-1]
    assert last.completed_at is not None
    rest = any_ledger.list_completed("alice", 10, (last.completed_at, last.id))
    assert [p.id for p in rest] == expected[2:]
    assert [p.id for p in any_ledger.list_completed("bob", 10, None)] == [other.id]


# -- outbox, sending, heartbeats, deletion --------------------------------------------------------------


def test_outbox_rows_once_per_attempt_in_insertion_order(any_ledger: Ledger) -> None:
    project = _project(any_ledger)
    a, b = _tasks(any_ledger, project.id, 2)
    with any_ledger.transaction() as tx:
        tx.add_outbox([(b.id, 1), (a.id, 1)])
        tx.add_outbox([(a.id, 1), (a.id, 2)])
        tx.add_outbox([])
    later = utcnow() + timedelta(seconds=5)
    with any_ledger.read() as tx:
        assert tx.outbox_due(later) == [(b.id, 1), (a.id, 1), (a.id, 2)]
        assert tx.outbox_due(utcnow() - timedelta(seconds=5)) == []
    with any_ledger.transaction() as tx:
        tx.delete_outbox(a.id, 1)
        tx.delete_outbox(a.id, 7)
    with any_ledger.read() as tx:
        assert tx.outbox_due(later) == [(b.id, 1), (a.id, 2)]


def test_mark_sent_clears_rows_and_records_the_message_of_that_attempt(any_ledger: Ledger) -> None:
    project = _project(any_ledger)
    a, b = _tasks(any_ledger, project.id, 2)
    with any_ledger.transaction() as tx:
        tx.add_outbox([(a.id, 1), (b.id, 1)])
    any_ledger.mark_sent([(a.id, 1, "m-a"), (b.id, 2, "m-b-stale")])
    any_ledger.mark_sent([])
    with any_ledger.read() as tx:
        assert tx.outbox_due(utcnow() + timedelta(seconds=5)) == [(b.id, 1)]
        sent_a, sent_b = tx.task(a.id), tx.task(b.id)
    assert sent_a.message_id == "m-a" and sent_a.sent_at is not None
    assert (sent_b.message_id, sent_b.sent_at) == (None, None)  # attempt 2 is not the stored attempt


def test_heartbeat_touches_only_the_current_attempt(any_ledger: Ledger) -> None:
    project = _project(any_ledger)
    (task,) = _tasks(any_ledger, project.id, 1, attempt=2)
    any_ledger.heartbeat(task.id, 1)
    assert _task(any_ledger, task.id).heartbeat_at is None
    before = utcnow()
    any_ledger.heartbeat(task.id, 2)
    beat = _task(any_ledger, task.id).heartbeat_at
    assert beat is not None and beat >= before - timedelta(seconds=1)
    any_ledger.heartbeat("tsk_missing", 1)


def test_deleting_a_project_removes_its_records_but_not_its_outbox_rows(any_ledger: Ledger) -> None:
    project, kept = _project(any_ledger), _project(any_ledger)
    (task,) = _tasks(any_ledger, project.id, 1)
    (kept_task,) = _tasks(any_ledger, kept.id, 1)
    with any_ledger.transaction() as tx:
        tx.append_event(project.id, "task_status", {})
        video = Asset(id="ast_x", kind="video", filename="v.mp4", key="k", mime="video/mp4", size=1)
        video.project_id = project.id
        tx.add_asset(video)
        tx.add_outbox([(task.id, 1)])
    with any_ledger.transaction() as tx:
        tx.delete_project(project.id)
    with any_ledger.read() as tx:
        with pytest.raises(NotFound):
            tx.project(project.id)
        with pytest.raises(NotFound):
            tx.task(task.id)
        assert tx.asset("ast_x") is None and tx.tasks(project.id) == []
        assert tx.outbox_due(utcnow() + timedelta(seconds=5)) == [(task.id, 1)]
        assert tx.task(kept_task.id).project_id == kept.id
    assert any_ledger.events_after(project.id, 0) == []


def test_ping_answers_when_reachable(any_ledger: Ledger) -> None:
    any_ledger.ping()


# -- keys and service secrets ---------------------------------------------------------------------------


def test_api_keys_are_stored_listed_and_revoked_once(any_ledger: FakeLedger | SqlLedger) -> None:
    later, first = (
        ApiKey(id="key_b", owner="ana", secret_hash="h" * 64, label="ci", created_at=T0),
        ApiKey(id="key_a", owner="bo", secret_hash="g" * 64, admin=True, created_at=T0),
    )
    newest = ApiKey(id="key_0", owner="ana", secret_hash="f" * 64, created_at=T0 + timedelta(seconds=1))
    for key in (later, newest, first):
        any_ledger.add_api_key(key)
    assert [k.id for k in any_ledger.api_keys()] == ["key_a", "key_b", "key_0"]
    stored = any_ledger.api_key("key_a")
    assert stored is not None and (stored.owner, stored.admin, stored.label, stored.active) == (
        "bo",
        True,
        "",
        True,
    )
    assert any_ledger.api_key("key_missing") is None
    any_ledger.revoke_api_key("key_b", T0 + timedelta(seconds=5))
    any_ledger.revoke_api_key("key_b", T0 + timedelta(seconds=9))  # revoked already: the first time stays
    any_ledger.revoke_api_key("key_missing", T0)
    revoked = any_ledger.api_key("key_b")
    assert revoked is not None and revoked.revoked_at == T0 + timedelta(seconds=5) and not revoked.active


def test_sessions_are_found_until_they_end_expire_or_their_key_is_revoked(
    any_ledger: FakeLedger | SqlLedger,
) -> None:
    day = timedelta(days=1)
    any_ledger.add_api_key(ApiKey(id="key_a", owner="ana", secret_hash="h" * 64, created_at=T0))
    any_ledger.add_api_key(ApiKey(id="key_b", owner="bo", secret_hash="g" * 64, created_at=T0))
    any_ledger.add_session("1" * 64, "key_a", T0, T0 + day)
    any_ledger.add_session("2" * 64, "key_a", T0, T0 + day)
    any_ledger.add_session("3" * 64, "key_b", T0, T0 + day)
    any_ledger.add_session("4" * 64, "key_b", T0, T0 + timedelta(seconds=1))
    assert any_ledger.session_key_id("1" * 64, T0) == "key_a"
    assert any_ledger.session_key_id("3" * 64, T0) == "key_b"
    assert any_ledger.session_key_id("4" * 64, T0 + timedelta(seconds=1)) is None  # expired
    assert any_ledger.session_key_id("f" * 64, T0) is None
    # Signing out ends that session only.
    any_ledger.end_session("1" * 64)
    any_ledger.end_session("f" * 64)  # unknown: nothing happens
    assert any_ledger.session_key_id("1" * 64, T0) is None
    assert any_ledger.session_key_id("2" * 64, T0) == "key_a"
    # Revoking a key ends every session opened with it, and no other.
    any_ledger.revoke_api_key("key_a", T0 + timedelta(seconds=5))
    assert any_ledger.session_key_id("2" * 64, T0) is None
    assert any_ledger.session_key_id("3" * 64, T0) == "key_b"
    # Opening a session removes the expired ones, so ended sessions do not pile up.
    any_ledger.add_session("5" * 64, "key_b", T0 + day, T0 + 2 * day)
    assert any_ledger.session_key_id("3" * 64, T0) is None
    assert any_ledger.session_key_id("5" * 64, T0 + day) == "key_b"


def test_a_service_secret_is_made_once_and_then_the_same(any_ledger: FakeLedger | SqlLedger) -> None:
    made: list[str] = []

    def make() -> str:
        made.append(f"secret-{len(made)}")
        return made[-1]

    assert any_ledger.service_secret("delivery-token-key", make) == "secret-0"
    assert any_ledger.service_secret("delivery-token-key", make) == "secret-0"
    assert any_ledger.service_secret("other", make) == "secret-1"
    assert made == ["secret-0", "secret-1"]


def test_a_rotated_service_secret_keeps_the_previous_one_until_its_end(
    any_ledger: FakeLedger | SqlLedger,
) -> None:
    assert any_ledger.kept_service_secret("hook") is None
    assert any_ledger.service_secret("hook", lambda: "first") == "first"
    assert any_ledger.kept_service_secret("hook") == ("first", None)
    any_ledger.rotate_service_secret("hook", "second", previous_name="hook-old", previous_until=T0)
    assert any_ledger.service_secret("hook", lambda: "not made") == "second"
    assert any_ledger.kept_service_secret("hook-old") == ("first", T0)
    any_ledger.rotate_service_secret("hook", "third", previous_name="hook-old", previous_until=None)
    assert any_ledger.kept_service_secret("hook") == ("third", None)
    assert any_ledger.kept_service_secret("hook-old") is None  # no grace: the old one is gone at once
