"""The ledger's side of /metrics, on SQLite and Postgres: completing a task bumps its counters in the same
transaction (concurrent completions lose no count), and ``SqlStats`` reads projects by status, the queue
and the counters back; deleting a project leaves the counters as they were."""

from __future__ import annotations

import threading

from framecast.domain.models import Project, Task, new_id
from framecast.ledger.repository import SqlLedger
from framecast.ledger.stats import SqlStats
from framecast.services import pipeline
from framecast.services.metrics import DURATION_BOUNDS
from framecast.services.pipeline import TaskOutcome

KINDS = ("plan", "render_chunk", "compose")


def _project(ledger: SqlLedger, chunks: int) -> tuple[str, list[Task], Task]:
    pid = new_id("prj")
    tasks = [Task(id=new_id("tsk"), project_id=pid, kind="render_chunk") for _ in range(chunks)]
    compose = Task(id=new_id("tsk"), project_id=pid, kind="compose", depends_on=[t.id for t in tasks])
    with ledger.transaction() as tx:
        pipeline.create_project(
            tx, Project(id=pid, owner="secret-owner", prompt="p", options={}), [*tasks, compose]
        )
    return pid, tasks, compose


def _run(ledger: SqlLedger, task: Task, frames: int | None = None) -> None:
    with ledger.transaction() as tx:
        assert pipeline.start_task(tx, task.id, task.attempt) is not None
    with ledger.transaction() as tx:
        assert pipeline.complete_task(tx, task.id, task.attempt, TaskOutcome(frames=frames)) is not None


def test_completions_are_counted_and_read_back(ledger: SqlLedger) -> None:
    stats = SqlStats(ledger.engine, kinds=KINDS)
    empty = stats.stats()
    assert empty.projects == {"queued": 0, "running": 0, "completed": 0, "failed": 0, "cancelled": 0}
    assert empty.task_seconds["render_chunk"].count == 0 and empty.render_fps.count == 0
    assert empty.webhook_deliveries == {}  # no delivery attempted yet: no outcome series
    pid, chunks, compose = _project(ledger, 3)
    queued = stats.stats()
    assert queued.projects["queued"] == 1
    assert queued.tasks_queued == {"plan": 0, "render_chunk": 3, "compose": 0}  # compose waits: not queued
    with ledger.transaction() as tx:
        pipeline.start_task(tx, chunks[0].id, 1)
    running = stats.stats()
    assert running.tasks_running["render_chunk"] == 1 and running.tasks_queued["render_chunk"] == 2
    with ledger.transaction() as tx:
        pipeline.complete_task(tx, chunks[0].id, 1, TaskOutcome(frames=48))
    for chunk in chunks[1:]:
        _run(ledger, chunk, frames=48)
    _run(ledger, compose)
    done = stats.stats()
    assert sum(done.projects.values()) == 1 and done.projects["queued"] == 0  # (no video: not "completed")
    assert sum(done.tasks_queued.values()) == sum(done.tasks_running.values()) == 0
    seconds = done.task_seconds["render_chunk"]
    assert seconds.count == 3 and seconds.total >= 0 and seconds.bounds == DURATION_BOUNDS
    assert list(seconds.counts) == sorted(seconds.counts) and seconds.counts[-1] <= 3
    assert done.task_seconds["compose"].count == 1
    assert done.render_fps.count == 3  # compose rendered no frames
    # deleting the project lowers the gauges, never the counters
    with ledger.transaction() as tx:
        tx.delete_project(pid)
    after = stats.stats()
    assert sum(after.projects.values()) == 0
    assert after.task_seconds["render_chunk"].count == 3 and after.render_fps.count == 3


def test_concurrent_completions_lose_no_count(ledger: SqlLedger) -> None:
    projects = [_project(ledger, 4) for _ in range(3)]
    errors: list[BaseException] = []

    def work(chunks: list[Task]) -> None:
        try:
            for chunk in chunks:
                _run(ledger, chunk, frames=24)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(chunks,)) for _pid, chunks, _compose in projects]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    stats = SqlStats(ledger.engine, kinds=KINDS).stats()
    assert stats.task_seconds["render_chunk"].count == 12
    assert stats.render_fps.count == 12
