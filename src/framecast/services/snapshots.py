"""The project snapshot: the full state of a project as ``GET /api/projects/{id}`` shows it, built inside a
ledger read or transaction. Webhooks carry the same snapshot, built in the transaction of the change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from framecast.domain.models import JSON, Project, Task, iso
from framecast.domain.status import Status
from framecast.services.ports import LedgerSession


@dataclass(frozen=True)
class PollingPolicy:
    """How often clients should poll: ``next_poll_ms`` by project status."""

    running_ms: int = 1000
    queued_ms: int = 2000

    def next_poll_ms(self, status: Status) -> int | None:
        if status.terminal:
            return None
        return self.queued_ms if status is Status.QUEUED else self.running_ms


@dataclass(frozen=True)
class SnapshotView:
    """What a snapshot needs besides the ledger: the polling hint, each task kind's share of the progress
    bar (unknown kinds weigh 0.5) and the retention that dates ``expires_at``.

    >>> SnapshotView().build(tx, project)["status"]        # doctest: +SKIP
    'running'
    """

    polling: PollingPolicy = field(default_factory=PollingPolicy)
    progress_weights: Mapping[str, float] = field(default_factory=dict)
    retention_days: float | None = None

    def expiry(self, project: Project) -> datetime | None:
        """When retention removes an ended project (None: kept until deleted, or still running)."""
        if self.retention_days is None or not project.status.terminal:
            return None
        return project.updated_at + timedelta(days=self.retention_days)

    def build(self, tx: LedgerSession, project: Project) -> JSON:
        tasks = tx.tasks(project.id)
        assets = tx.assets(project.id)
        return {
            "id": project.id,
            "status": project.status.value,
            "terminal": project.status.terminal,
            "prompt": project.prompt,
            "options": project.options,
            "progress": overall_progress(tasks, self.progress_weights),
            "tasks": [t.public() for t in tasks],
            "assets": [a.public() for a in assets],
            "result": project.result,
            "error": project.error,
            "created_at": iso(project.created_at),
            "updated_at": iso(project.updated_at),
            "delivered_at": iso(project.delivered_at),
            "expires_at": iso(self.expiry(project)),
            "last_seq": project.last_seq,
            "queue_position": tx.queue_position(project.id),
            "next_poll_ms": self.polling.next_poll_ms(project.status),
            "timeline": project.timeline,
        }


def overall_progress(tasks: list[Task], weights: Mapping[str, float]) -> float:
    if not tasks:
        return 0.0
    total = sum(weights.get(t.kind, 0.5) for t in tasks)
    done = sum(
        weights.get(t.kind, 0.5) * (1.0 if t.status is Status.COMPLETED else t.progress) for t in tasks
    )
    return round(done / total, 4)
