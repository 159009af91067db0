"""Statuses of projects and tasks, and the transitions a project may make."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})

#: Allowed project transitions. A retry takes a failed or cancelled project back to queued;
#: a completed project never changes again.
PROJECT_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.RUNNING, Status.FAILED, Status.CANCELLED, Status.COMPLETED}),
    Status.RUNNING: frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset({Status.QUEUED}),
    Status.CANCELLED: frozenset({Status.QUEUED}),
}


def can_transition(current: Status, target: Status) -> bool:
    """Say whether a project may go from ``current`` to ``target``.

    >>> can_transition(Status.FAILED, Status.QUEUED)
    True
    """
    return target in PROJECT_TRANSITIONS[current]
