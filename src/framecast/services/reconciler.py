"""The reconciler: makes the ledger and the broker agree again after crashes and restarts.

It runs in every ``framecast serve`` (every few seconds; on Postgres only one replica at a time holds the
lock) and does three things, each safe to repeat:

1. sends outbox rows older than a grace period (committed, never sent: the sender died or the broker was down);
2. re-queues running tasks whose heartbeat stopped (their worker died) with a fresh attempt;
3. re-queues sent-but-unstarted tasks whose message the broker no longer has (a Redis restart without
   persistence) with a fresh attempt.

A fresh attempt makes any old message stale: if it ever arrives, it does nothing. Cancel wins: tasks of a
terminal project are never re-queued.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from framecast.domain.errors import NotFound, Unavailable
from framecast.domain.models import utcnow
from framecast.domain.status import Status
from framecast.services import pipeline
from framecast.services.dispatch import send_tasks
from framecast.services.ports import JobQueue, Ledger, MediaStore

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    outbox_sent: int = 0
    dead_requeued: int = 0
    lost_requeued: int = 0

    @property
    def total(self) -> int:
        return self.outbox_sent + self.dead_requeued + self.lost_requeued


class Reconciler:
    def __init__(
        self,
        ledger: Ledger,
        queue: JobQueue,
        *,
        outbox_grace_s: float = 5.0,
        heartbeat_timeout_s: float = 15.0,
        lost_after_s: float = 10.0,
    ) -> None:
        self.ledger = ledger
        self.queue = queue
        self.outbox_grace = timedelta(seconds=outbox_grace_s)
        self.heartbeat_timeout = timedelta(seconds=heartbeat_timeout_s)
        self.lost_after = timedelta(seconds=lost_after_s)

    def run_once(self) -> ReconcileReport:
        report = ReconcileReport()
        now = utcnow()
        with self.ledger.read() as tx:
            due = tx.outbox_due(now - self.outbox_grace)
        for task_id, attempt in due:
            with self.ledger.transaction() as tx:
                try:
                    task = tx.task(task_id)
                except NotFound:  # the project was deleted (an outage must not drop the row: it raises)
                    tx.delete_outbox(task_id, attempt)
                    continue
                project = tx.project(task.project_id)
                if task.attempt != attempt or task.status is not Status.QUEUED or project.status.terminal:
                    tx.delete_outbox(task_id, attempt)
                    continue
            report.outbox_sent += send_tasks(self.ledger, self.queue, [task])

        cutoff = now - self.heartbeat_timeout
        with self.ledger.read() as tx:
            silent = tx.tasks_where(status=Status.RUNNING.value, before=cutoff, column="heartbeat_at")
        for task in silent:
            with self.ledger.transaction() as tx:
                to_send = pipeline.requeue_task(
                    tx, task.id, expect=Status.RUNNING, attempt=task.attempt, silent_since=cutoff
                )
            report.dead_requeued += len([t for t in to_send if t.id == task.id])
            send_tasks(self.ledger, self.queue, to_send)

        with self.ledger.read() as tx:
            waiting = tx.tasks_where(
                status=Status.QUEUED.value, before=now - self.lost_after, column="sent_at"
            )
        for task in waiting:
            if task.sent_at is None or task.message_id is None:
                continue  # not sent yet: the outbox covers it
            try:
                if self.queue.message_exists(task.message_id):
                    continue
            except Unavailable as exc:  # broker down: try again next round
                log.warning("cannot reach the broker to check %s: %s", task.id, exc.message)
                return report
            with self.ledger.transaction() as tx:
                to_send = pipeline.requeue_task(tx, task.id, expect=Status.QUEUED, attempt=task.attempt)
            report.lost_requeued += len([t for t in to_send if t.id == task.id])
            send_tasks(self.ledger, self.queue, to_send)
        if report.total:
            log.info("reconciled: %s", report)
        return report


def requeue_worker(ledger: Ledger, queue: JobQueue, worker: str) -> int:
    """A worker process exited (its pool saw it): give the tasks it was running a fresh attempt now, rather
    than when their heartbeat times out. A task another worker has started since (a redelivery) is left
    alone. Returns how many were re-queued."""
    with ledger.read() as tx:
        held = tx.running_tasks_of(worker)
    requeued = 0
    for task in held:
        with ledger.transaction() as tx:
            to_send = pipeline.requeue_task(
                tx, task.id, expect=Status.RUNNING, attempt=task.attempt, worker=worker
            )
        requeued += len([t for t in to_send if t.id == task.id])
        send_tasks(ledger, queue, to_send)
    return requeued


class MediaSweeper:
    """Removes the files of projects that no longer exist.

    Deleting a project removes its files at once; this catches what that could not: files a still-running
    task wrote after the delete, or a delete that met a storage outage. A project's row exists before any
    of its files is written, so a ``prj_…`` prefix without a row is safe to remove. Uploads are not touched.
    """

    BATCH = 500

    def __init__(self, ledger: Ledger, media: MediaStore) -> None:
        self.ledger = ledger
        self.media = media

    def run_once(self) -> int:
        removed = 0
        batch: list[str] = []
        for prefix in self.media.project_prefixes():
            batch.append(prefix)
            if len(batch) >= self.BATCH:
                removed += self._sweep(batch)
                batch = []
        if batch:
            removed += self._sweep(batch)
        if removed:
            log.info("removed the files of %d deleted project(s)", removed)
        return removed

    def _sweep(self, prefixes: list[str]) -> int:
        with self.ledger.read() as tx:
            alive = tx.existing_project_ids(prefixes)
        orphans = [p for p in prefixes if p not in alive]
        for prefix in orphans:
            self.media.delete_prefix(prefix)
        return len(orphans)
