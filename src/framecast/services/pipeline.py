"""The task pipeline's rules, applied inside one ledger transaction each.

A project is a small DAG of tasks. A task runs when every task it depends on is completed; the transaction
that completes the last dependency marks the dependent as sent (``enqueued_at``) with a conditional check,
so fan-in fires exactly once however many deliveries race. Each message names a task and an attempt; a
message whose attempt is not the task's current one, or whose task is already finished, does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from framecast.domain.errors import Conflict
from framecast.domain.events import EventType
from framecast.domain.models import JSON, Asset, AssetKind, Project, Task, utcnow
from framecast.domain.status import Status, can_transition
from framecast.services.metrics import count_completion
from framecast.services.ports import LedgerSession

log = logging.getLogger(__name__)


@dataclass
class TaskOutcome:
    """What a finished task hands back: stored assets, a timeline (from ``plan``), tasks to add, and how
    many frames it rendered (for the render-speed metric)."""

    assets: list[Asset] = field(default_factory=list)
    timeline: JSON | None = None
    new_tasks: list[Task] = field(default_factory=list)
    frames: int | None = None


def _task_status(task: Task) -> JSON:
    data: JSON = {
        "task_id": task.id,
        "kind": task.kind,
        "status": task.status.value,
        "terminal": task.status.terminal,
        "attempt": task.attempt,
    }
    if task.error:
        data["error"] = task.error
    return data


def task_event(tx: LedgerSession, task: Task) -> None:
    tx.append_event(task.project_id, EventType.TASK_STATUS, _task_status(task))


def _add_tasks(tx: LedgerSession, project_id: str, new: list[Task]) -> None:
    """Insert tasks and announce each (a plan adds dozens: batched, not a statement per row)."""
    tx.add_tasks(new)
    tx.append_events(project_id, [(EventType.TASK_STATUS, _task_status(t)) for t in new])


def project_event(tx: LedgerSession, project_id: str, status: Status, error: JSON | None = None) -> None:
    data: JSON = {"status": status.value, "terminal": status.terminal}
    if error:
        data["error"] = error
    tx.append_event(project_id, EventType.PROJECT_STATUS, data)


def _move_project(tx: LedgerSession, project: Project, status: Status, **fields: object) -> None:
    """Change a project's status along the transition table, store it with ``fields`` and announce it.

    Every status change of a project goes through here, so none can skip the table or its event."""
    if not can_transition(project.status, status):
        raise Conflict(
            f"A {project.status.value} project cannot become {status.value}.", code="invalid_transition"
        )
    error = fields.get("error")
    tx.update_project(project.id, status=status, **fields)
    project.status = status
    project_event(tx, project.id, status, error if isinstance(error, dict) else None)


def _set_task(tx: LedgerSession, task: Task, status: Status, **fields: object) -> Task:
    task.status = status
    for key, value in fields.items():
        setattr(task, key, value)
    tx.update_task(task.id, status=status, **fields)
    task_event(tx, task)
    return task


def ready_to_send(tx: LedgerSession, project_id: str) -> list[Task]:
    """Queued tasks whose dependencies are all completed and that were not sent yet; marks them sent."""
    return _mark_ready(tx, tx.tasks(project_id))


def _mark_ready(tx: LedgerSession, all_tasks: list[Task]) -> list[Task]:
    done = {t.id for t in all_tasks if t.status is Status.COMPLETED}
    now = utcnow()
    ready = [
        task
        for task in all_tasks
        if task.status is Status.QUEUED
        and task.enqueued_at is None
        and all(d in done for d in task.depends_on)
    ]
    tx.mark_enqueued([t.id for t in ready], now)
    tx.add_outbox([(t.id, t.attempt) for t in ready])
    for task in ready:
        task.enqueued_at = now
    return ready


def create_project(tx: LedgerSession, project: Project, first_tasks: list[Task]) -> list[Task]:
    tx.add_project(project)
    project_event(tx, project.id, Status.QUEUED)
    _add_tasks(tx, project.id, first_tasks)
    return ready_to_send(tx, project.id)


def start_task(
    tx: LedgerSession, task_id: str, attempt: int, *, worker: str | None = None
) -> tuple[Project, Task] | None:
    """Mark a delivered task running, by ``worker`` (``host:pid``: the pool re-queues it when that process
    exits); None when the message is stale (old attempt, finished, cancelled)."""
    task = tx.task(task_id)
    project = tx.project(task.project_id, lock=True)
    task = tx.task(task_id)  # re-read under the lock
    if task.attempt != attempt or task.status.terminal or project.status.terminal:
        log.info(
            "skip stale delivery of %s attempt %s (task %s attempt %s)",
            task_id,
            attempt,
            task.status,
            task.attempt,
        )
        return None
    if task.status is Status.QUEUED:
        _set_task(
            tx, task, Status.RUNNING, started_at=utcnow(), progress=0.0, heartbeat_at=utcnow(), worker=worker
        )
    else:
        tx.update_task(task.id, heartbeat_at=utcnow(), worker=worker)
    task.worker = worker
    if project.status is Status.QUEUED:
        _move_project(tx, project, Status.RUNNING)
    return project, task


def report_progress(
    tx: LedgerSession, task_id: str, attempt: int, *, frame: int, frames: int, eta_s: float | None
) -> bool:
    """Record progress; False when the task is no longer this attempt's to run (cancelled, stale)."""
    task = tx.task(task_id)
    project = tx.project(task.project_id, lock=True)
    task = tx.task(task_id)  # re-read under the lock: a re-queue may have committed in between
    if task.attempt != attempt or task.status is not Status.RUNNING or project.status.terminal:
        return False
    progress = 0.0 if frames <= 0 else min(1.0, frame / frames)
    tx.update_task(task_id, progress=progress)
    tx.append_event(
        task.project_id,
        EventType.RENDER_PROGRESS,
        {
            "task_id": task_id,
            "kind": task.kind,
            "progress": round(progress, 4),
            "frame": frame,
            "frames": frames,
            "eta_s": None if eta_s is None else round(eta_s, 2),
        },
    )
    return True


def record_checkpoint(tx: LedgerSession, task_id: str, attempt: int, key: str, value: str) -> bool:
    """Add ``key`` to the task's checkpoint; False when the task is no longer this attempt's to run."""
    task = tx.task(task_id)
    project = tx.project(task.project_id, lock=True)
    task = tx.task(task_id)
    if task.attempt != attempt or task.status is not Status.RUNNING or project.status.terminal:
        return False
    checkpoint = {**task.checkpoint, key: value}
    tx.update_task(task_id, checkpoint=checkpoint)
    return True


def complete_task(tx: LedgerSession, task_id: str, attempt: int, outcome: TaskOutcome) -> list[Task] | None:
    """Finish a task: store its outputs, announce files, send what became ready, and finish the project
    when nothing is left. Returns the tasks to send, or None when this delivery was stale."""
    task = tx.task(task_id)
    project = tx.project(task.project_id, lock=True)
    task = tx.task(task_id)
    if task.attempt != attempt or task.status is not Status.RUNNING or project.status.terminal:
        return None
    for asset in outcome.assets:
        if tx.add_asset(asset):
            tx.append_event(project.id, EventType.FILE, {"asset": asset.public()})
    if outcome.timeline is not None:
        tx.update_project(project.id, timeline=outcome.timeline)
    if outcome.new_tasks:
        position = max((t.position for t in tx.tasks(project.id)), default=0)
        for offset, new in enumerate(outcome.new_tasks, start=1):
            new.position = position + offset
        _add_tasks(tx, project.id, outcome.new_tasks)
    finished_at = utcnow()
    _set_task(tx, task, Status.COMPLETED, progress=1.0, finished_at=finished_at)
    all_tasks = tx.tasks(project.id)  # read once (a long video has dozens of tasks, each with JSON columns)
    to_send = _mark_ready(tx, all_tasks)
    if all(t.status is Status.COMPLETED for t in all_tasks):
        _finish_project(tx, project)
    # Last: the counter rows are shared by every task of a kind, so their row locks are held only briefly.
    count_completion(tx, task, finished_at, outcome.frames)
    return to_send


def _finish_project(tx: LedgerSession, project: Project) -> None:
    assets = tx.assets(project.id)
    video = next((a for a in reversed(assets) if a.kind == AssetKind.VIDEO), None)
    poster = next((a for a in reversed(assets) if a.kind == AssetKind.POSTER), None)
    if video is None:
        error = {"code": "no_video", "message": "Every step finished but no video was produced."}
        _move_project(tx, project, Status.FAILED, error=error)
        return
    result: JSON = {
        "url": video.url,
        "poster_url": poster.url if poster else None,
        "duration_s": video.meta.get("duration_s"),
        "width": video.meta.get("width"),
        "height": video.meta.get("height"),
        "asset_id": video.id,
    }
    tx.append_event(project.id, EventType.RENDER_RESULT, {"object": result})
    _move_project(tx, project, Status.COMPLETED, result=result, error=None, completed_at=utcnow())


def fail_task(tx: LedgerSession, task_id: str, attempt: int, error: JSON) -> bool:
    """Record a task's failure and fail the project; other unfinished tasks are cancelled."""
    task = tx.task(task_id)
    project = tx.project(task.project_id, lock=True)
    task = tx.task(task_id)
    if task.attempt != attempt or task.status.terminal or project.status.terminal:
        return False
    _set_task(tx, task, Status.FAILED, error=error, finished_at=utcnow())
    for other in tx.tasks(project.id):
        if not other.status.terminal:
            _set_task(tx, other, Status.CANCELLED, finished_at=utcnow())
    _move_project(tx, project, Status.FAILED, error=error)
    return True


def cancel_project(tx: LedgerSession, project: Project) -> bool:
    """Cancel unfinished work; False when the project had already ended."""
    if project.status.terminal:
        return False
    for task in tx.tasks(project.id):
        if not task.status.terminal:
            _set_task(tx, task, Status.CANCELLED, finished_at=utcnow())
    error = {"code": "cancelled", "message": "The project was cancelled."}
    _move_project(tx, project, Status.CANCELLED, error=error)
    return True


def _fresh_attempt(tx: LedgerSession, task: Task, *, keep_checkpoint: bool = True) -> Task:
    """Queue the next attempt of a task, with nothing of the last one: its error, times, heartbeat, and its
    message (gone or stale, so not a sign that this attempt's message was lost). ``ready_to_send`` sends it.

    The checkpoint stays (a re-delivered generation resumes its provider's job) unless a person retries:
    then the job it names failed or was cancelled, and the new attempt starts afresh."""
    if not keep_checkpoint and task.checkpoint:
        tx.update_task(task.id, checkpoint=None)
        task.checkpoint = {}
    return _set_task(
        tx,
        task,
        Status.QUEUED,
        attempt=task.attempt + 1,
        error=None,
        progress=0.0,
        enqueued_at=None,
        started_at=None,
        finished_at=None,
        heartbeat_at=None,
        message_id=None,
        sent_at=None,
    )


#: A task that failed with this code lacked a file its completed dependencies had made (storage lost it):
#: a retry must make those again, or it fails the same way.
FILE_MISSING = "file_missing"


def retry_project(tx: LedgerSession, project: Project) -> list[Task]:
    """Re-run a failed or cancelled project from the steps that did not complete (and, for a step whose
    input files went missing, from the steps that made them)."""
    tasks = tx.tasks(project.id)
    completed = {t.id for t in tasks if t.status is Status.COMPLETED}
    rerun = {t.id for t in tasks if t.status in (Status.FAILED, Status.CANCELLED)}
    for task in tasks:
        if task.status is Status.FAILED and (task.error or {}).get("code") == FILE_MISSING:
            rerun.update(d for d in task.depends_on if d in completed)
    for task in tasks:
        if task.id in rerun:
            _fresh_attempt(tx, task, keep_checkpoint=False)
    _move_project(tx, project, Status.QUEUED, error=None)
    return ready_to_send(tx, project.id)


def requeue_task(
    tx: LedgerSession,
    task_id: str,
    *,
    expect: Status,
    attempt: int,
    silent_since: datetime | None = None,
    worker: str | None = None,
) -> list[Task]:
    """Give a lost task (dead worker, lost message) a fresh attempt, if it is still as the caller saw it;
    with ``silent_since``, only if its heartbeat is still older than that, and with ``worker``, only if
    that worker still holds it (either way: a redelivery may have started the same attempt again, on a
    live worker, since the caller looked)."""
    task = tx.task(task_id)
    project = tx.project(task.project_id, lock=True)
    task = tx.task(task_id)
    if project.status.terminal or task.status is not expect or task.attempt != attempt:
        return []
    if silent_since is not None and task.heartbeat_at is not None and task.heartbeat_at >= silent_since:
        return []
    if worker is not None and task.worker != worker:
        return []
    log.warning("re-queueing %s %s (attempt %s was lost)", task.kind, task.id, attempt)
    _fresh_attempt(tx, task)
    return ready_to_send(tx, project.id)


def reconcile_project(tx: LedgerSession, project: Project) -> list[Task]:
    """Give every unfinished, runnable task a fresh attempt and send it again (at start-up, after a crash).

    Old messages of the previous attempt may still be in the broker; they are stale and do nothing.
    """
    done = {t.id for t in tx.tasks(project.id) if t.status is Status.COMPLETED}
    to_send = []
    for task in tx.tasks(project.id):
        if task.status.terminal or not all(d in done for d in task.depends_on):
            continue
        if task.status is Status.QUEUED and task.enqueued_at is None:
            continue  # ready_to_send picks it up below
        _fresh_attempt(tx, task)
    to_send.extend(ready_to_send(tx, project.id))
    return to_send
