"""A running task's context: progress writes double as the cancellation check, and cancellation is still
seen within a check interval whether or not the task reports progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from framecast.domain.models import Project, Task, new_id
from framecast.jobs.context import TaskContext
from framecast.ledger.repository import SqlLedger
from framecast.media.local import LocalMediaStore
from framecast.services import pipeline
from framecast.services.ports import LedgerSession
from framecast.settings import Settings


class CountingLedger:
    """The real ledger, counting the read transactions (the cancel watch's checks)."""

    def __init__(self, inner: SqlLedger) -> None:
        self.inner, self.reads = inner, 0

    def read(self) -> AbstractContextManager[LedgerSession]:
        self.reads += 1
        return self.inner.read()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _started_task(ledger: SqlLedger) -> tuple[Project, Task]:
    """A project with one render_chunk task, started (attempt 1)."""
    pid = new_id("prj")
    task = Task(id=new_id("tsk"), project_id=pid, kind="render_chunk")
    with ledger.transaction() as tx:
        pipeline.create_project(tx, Project(id=pid, owner="local", prompt="p", options={}), [task])
    with ledger.transaction() as tx:
        started = pipeline.start_task(tx, task.id, 1)
    assert started is not None
    return started


@pytest.fixture
def running(ledger: SqlLedger, tmp_path: Path) -> Iterator[tuple[TaskContext, CountingLedger, str]]:
    project, task = _started_task(ledger)
    pid = project.id
    counting = CountingLedger(ledger)
    settings = Settings(data_dir=tmp_path / "data", cancel_check_interval_s=0.05, progress_interval_s=0.01)
    ctx = TaskContext(project, task, counting, LocalMediaStore(tmp_path / "media"), settings)  # type: ignore[arg-type]
    try:
        yield ctx, counting, pid
    finally:
        ctx.close()


def _cancel(ledger: SqlLedger, pid: str) -> None:
    with ledger.transaction() as tx:
        assert pipeline.cancel_project(tx, tx.project(pid, lock=True))


def test_progress_writes_stand_in_for_the_cancel_watch(
    running: tuple[TaskContext, CountingLedger, str],
) -> None:
    ctx, counting, _ = running
    time.sleep(0.3)  # no progress: the watch reads every 0.05 s
    idle_reads = counting.reads
    assert idle_reads >= 3
    began = time.monotonic()
    frame = 0
    while time.monotonic() - began < 0.5:  # progress every ~0.01 s, as a render reports it
        frame += 1
        ctx.progress(frame, 10_000)
        time.sleep(0.01)
    assert counting.reads - idle_reads <= 2, "the watch read the ledger although progress had just checked"
    assert not ctx.should_stop()


@pytest.mark.parametrize("reporting", [True, False])
def test_a_cancel_is_seen_within_a_check_interval(
    running: tuple[TaskContext, CountingLedger, str], reporting: bool
) -> None:
    ctx, counting, pid = running
    _cancel(counting.inner, pid)
    deadline = time.monotonic() + 2.0
    frame = 0
    while not ctx.should_stop() and time.monotonic() < deadline:
        if reporting:
            frame += 1
            ctx.progress(frame, 10_000)
        time.sleep(0.01)
    assert ctx.should_stop()


def _progress_events(ledger: SqlLedger, pid: str) -> list[dict[str, object]]:
    return [e.data for e in ledger.events_after(pid, 0) if e.type == "render_progress"]


def test_progress_is_reported_once_per_interval_and_not_again_at_the_end(
    running: tuple[TaskContext, CountingLedger, str],
) -> None:
    ctx, counting, pid = running  # progress_interval_s = 0.01
    frames = 30
    began = time.monotonic()
    for frame in range(1, frames + 1):
        ctx.progress(frame, frames)
        time.sleep(0.004)
    elapsed = time.monotonic() - began
    reported = [e["frame"] for e in _progress_events(counting.inner, pid)]
    # Not at the first frame (the task's running status says as much), nor at the last (its completion
    # does), and at most one per 0.01 s in between (counted against the time the loop took, so a slow
    # machine does not fail it).
    assert reported, "a task running longer than the interval reports progress"
    assert 1 not in reported and frames not in reported
    assert reported == sorted(reported) and len(reported) <= elapsed / 0.01 + 1


def test_a_task_shorter_than_the_interval_reports_once_at_its_last_frame(
    ledger: SqlLedger, tmp_path: Path
) -> None:
    project, task = _started_task(ledger)
    pid = project.id
    settings = Settings(data_dir=tmp_path / "data", progress_interval_s=60)
    ctx = TaskContext(project, task, ledger, LocalMediaStore(tmp_path / "media"), settings)
    try:
        for frame in range(1, 11):
            ctx.progress(frame, 10)
    finally:
        ctx.close()
    events = _progress_events(ledger, pid)
    assert [(e["frame"], e["progress"]) for e in events] == [(10, 1.0)]
