"""Every project status change follows the transition table: a completed project never changes again."""

from __future__ import annotations

import pytest

from framecast.domain.errors import Conflict
from framecast.domain.models import Project, Task, new_id
from framecast.domain.status import PROJECT_TRANSITIONS, Status
from framecast.ledger.repository import SqlLedger
from framecast.services import pipeline


def _project(ledger: SqlLedger) -> Project:
    project = Project(id=new_id("prj"), owner="o", prompt="p", options={})
    with ledger.transaction() as tx:
        pipeline.create_project(tx, project, [Task(id=new_id("tsk"), project_id=project.id, kind="plan")])
    return project


def test_a_completed_project_cannot_be_cancelled_or_requeued(ledger: SqlLedger) -> None:
    project = _project(ledger)
    with ledger.transaction() as tx:
        current = tx.project(project.id, lock=True)
        pipeline._move_project(tx, current, Status.COMPLETED, completed_at=None)
    for target in (Status.QUEUED, Status.RUNNING, Status.CANCELLED, Status.FAILED):
        with pytest.raises(Conflict) as caught, ledger.transaction() as tx:
            pipeline._move_project(tx, tx.project(project.id, lock=True), target)
        assert caught.value.code == "invalid_transition"
    events = ledger.events_after(project.id, 0)
    assert [e.data["status"] for e in events if e.type == "project_status"] == ["queued", "completed"]


def test_every_allowed_move_is_stored_and_announced(ledger: SqlLedger) -> None:
    project = _project(ledger)
    path = [Status.RUNNING, Status.FAILED, Status.QUEUED, Status.CANCELLED, Status.QUEUED, Status.COMPLETED]
    for target in path:
        with ledger.transaction() as tx:
            current = tx.project(project.id, lock=True)
            assert target in PROJECT_TRANSITIONS[current.status]
            pipeline._move_project(tx, current, target)
    with ledger.read() as tx:
        assert tx.project(project.id).status is Status.COMPLETED
    statuses = [e.data["status"] for e in ledger.events_after(project.id, 0) if e.type == "project_status"]
    assert statuses == ["queued", *[s.value for s in path]]
