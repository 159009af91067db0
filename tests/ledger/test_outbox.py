"""Ready tasks and the outbox: a task made ready gets an outbox row in the same transaction, sent tasks
clear theirs (many in one transaction), and a task is made ready once however often readiness is checked."""

from __future__ import annotations

from datetime import timedelta

from framecast.domain.models import Project, Task, new_id, utcnow
from framecast.domain.status import Status
from framecast.ledger.repository import SqlLedger
from framecast.services import pipeline
from framecast.services.pipeline import TaskOutcome


def _project_with_fan_in(ledger: SqlLedger) -> tuple[str, list[Task], Task]:
    pid = new_id("prj")
    chunks = [Task(id=new_id("tsk"), project_id=pid, kind="render_chunk") for _ in range(3)]
    compose = Task(id=new_id("tsk"), project_id=pid, kind="compose", depends_on=[c.id for c in chunks])
    with ledger.transaction() as tx:
        ready = pipeline.create_project(
            tx, Project(id=pid, owner="local", prompt="p", options={}), [*chunks, compose]
        )
    assert sorted(t.id for t in ready) == sorted(c.id for c in chunks)
    return pid, chunks, compose


def _due(ledger: SqlLedger) -> set[str]:
    with ledger.read() as tx:
        return {task_id for task_id, _ in tx.outbox_due(utcnow() + timedelta(seconds=1))}


def test_ready_tasks_get_outbox_rows_and_events_in_order(ledger: SqlLedger) -> None:
    pid, chunks, compose = _project_with_fan_in(ledger)
    assert _due(ledger) == {c.id for c in chunks}
    with ledger.read() as tx:
        stored = {t.id: t for t in tx.tasks(pid)}
    assert all(stored[c.id].enqueued_at is not None for c in chunks)
    assert stored[compose.id].enqueued_at is None
    log = ledger.events_after(pid, 0)
    assert [e.seq for e in log] == list(range(1, 6))
    assert [e.data.get("task_id") for e in log[1:]] == [*(c.id for c in chunks), compose.id]


def test_sent_tasks_clear_their_rows_in_one_go(ledger: SqlLedger) -> None:
    pid, chunks, _ = _project_with_fan_in(ledger)
    ledger.mark_sent([(c.id, 1, f"msg-{i}") for i, c in enumerate(chunks[:2])])
    ledger.mark_sent([])
    assert _due(ledger) == {chunks[2].id}
    with ledger.read() as tx:
        sent = {t.id: t for t in tx.tasks(pid)}
    assert [sent[c.id].message_id for c in chunks] == ["msg-0", "msg-1", None]
    assert sent[chunks[0].id].sent_at is not None and sent[chunks[2].id].sent_at is None


def test_an_existing_outbox_row_is_not_doubled(ledger: SqlLedger) -> None:
    _, chunks, _ = _project_with_fan_in(ledger)
    with ledger.transaction() as tx:
        tx.add_outbox([(chunks[0].id, 1), (chunks[0].id, 2)])
    with ledger.read() as tx:
        rows = tx.outbox_due(utcnow() + timedelta(seconds=1))
    assert sorted(a for t, a in rows if t == chunks[0].id) == [1, 2]


def test_fan_in_makes_the_dependent_ready_exactly_once(ledger: SqlLedger) -> None:
    pid, chunks, compose = _project_with_fan_in(ledger)
    ledger.mark_sent([(c.id, 1, "m") for c in chunks])
    sent_compose = []
    for chunk in chunks:
        with ledger.transaction() as tx:
            pipeline.start_task(tx, chunk.id, 1)
        with ledger.transaction() as tx:
            to_send = pipeline.complete_task(tx, chunk.id, 1, TaskOutcome())
            again = pipeline.ready_to_send(tx, pid)  # checking once more finds nothing new
        assert again == []
        sent_compose += [t.id for t in to_send or []]
    assert sent_compose == [compose.id]
    assert _due(ledger) == {compose.id}
    with ledger.read() as tx:
        assert tx.task(compose.id).status is Status.QUEUED and tx.task(compose.id).enqueued_at is not None
