"""Sending through the outbox: a sent task's row is cleared (all in one commit), an unsent one stays."""

from __future__ import annotations

import pytest

from framecast.services import pipeline
from framecast.services.dispatch import send_tasks
from tests.fakes import FakeJobQueue, FakeLedger
from tests.unit.support import fan_in, new_project, stored_task


def _ready(ledger: FakeLedger, chunks: int = 3) -> list[str]:
    project = new_project()
    parts, compose = fan_in(project, chunks)
    with ledger.transaction() as tx:
        ready = pipeline.create_project(tx, project, [*parts, compose])
    return [t.id for t in ready]


def test_sent_tasks_clear_their_outbox_rows_in_one_commit(ledger: FakeLedger, queue: FakeJobQueue) -> None:
    ids = _ready(ledger)
    with ledger.read() as tx:
        ready = [tx.task(i) for i in ids]
    commits = ledger.commits
    assert send_tasks(ledger, queue, ready) == 3
    assert queue.sent == [(i, 1) for i in ids]
    assert ledger.outbox_rows() == []
    assert ledger.commits == commits + 1
    assert [stored_task(ledger, i).message_id for i in ids] == [m.message_id for m in queue.messages]
    assert all(stored_task(ledger, i).sent_at is not None for i in ids)


def test_a_send_the_broker_refuses_leaves_its_outbox_row_for_the_reconciler(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    ids = _ready(ledger)
    with ledger.read() as tx:
        ready = [tx.task(i) for i in ids]
    queue.fail_next = 1
    assert send_tasks(ledger, queue, ready) == 2
    assert queue.sent == [(ids[1], 1), (ids[2], 1)]
    assert ledger.outbox_rows() == [(ids[0], 1)]
    assert stored_task(ledger, ids[0]).message_id is None


def test_a_broker_that_is_down_sends_nothing_and_keeps_every_row(
    ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    ids = _ready(ledger)
    with ledger.read() as tx:
        ready = [tx.task(i) for i in ids]
    queue.down = True
    assert send_tasks(ledger, queue, ready) == 0
    assert ledger.outbox_rows() == [(i, 1) for i in ids]


def test_rows_are_cleared_one_by_one_when_clearing_them_at_once_fails(
    ledger: FakeLedger, queue: FakeJobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _ready(ledger)
    with ledger.read() as tx:
        ready = [tx.task(i) for i in ids]
    real = ledger.mark_sent
    calls: list[int] = []

    def flaky(sent: list[tuple[str, int, str]]) -> None:
        calls.append(len(sent))
        if len(sent) > 1 or sent[0][0] == ids[1]:
            raise RuntimeError("database is locked")
        real(sent)

    monkeypatch.setattr(ledger, "mark_sent", flaky)
    assert send_tasks(ledger, queue, ready) == 3
    assert calls == [3, 1, 1, 1]
    assert ledger.outbox_rows() == [(ids[1], 1)]  # one duplicate message later, which is harmless
