"""``EngineRun`` over a ``TaskContext``: what a generate task hands its engine.

* ``progress(done, total)`` is the task's throttled progress: ``render_progress`` events and the task's
  progress in the snapshot, like a chunk's frames.
* ``should_stop()`` / ``check_cancelled()`` are the task's: True (or ``Cancelled``) once the project was
  cancelled or deleted or this attempt went stale; ``HandBack`` while the worker drains (the task is
  re-queued and resumes from its checkpoint).
* ``checkpoint()`` is what earlier attempts of this task recorded; ``record(key, value)`` adds to it in a
  transaction of its own, committed before it returns, so a worker killed right after still leaves it for
  the next attempt (a provider's job id recorded before waiting on the job: a re-run never pays twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from framecast.domain.errors import Cancelled
from framecast.jobs.context import TaskContext
from framecast.services import pipeline


class TaskEngineRun:
    """One attempt of one generate task, as its engine sees it."""

    def __init__(self, ctx: TaskContext) -> None:
        self._ctx = ctx
        self._checkpoint = dict(ctx.task.checkpoint)

    @property
    def tmp(self) -> Path:
        return self._ctx.tmp

    def progress(self, done: int, total: int) -> None:
        self._ctx.progress(done, total)

    def should_stop(self) -> bool:
        return self._ctx.should_stop()

    def check_cancelled(self) -> None:
        self._ctx.check_cancelled()

    def checkpoint(self) -> Mapping[str, str]:
        return dict(self._checkpoint)

    def record(self, key: str, value: str) -> None:
        task = self._ctx.task
        with self._ctx.ledger.transaction() as tx:
            mine = pipeline.record_checkpoint(tx, task.id, task.attempt, key, value)
        if not mine:
            raise Cancelled("The project was cancelled (or this attempt was superseded).")
        self._checkpoint[key] = value
        task.checkpoint = dict(self._checkpoint)
