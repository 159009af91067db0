"""Runs one delivered task: start it in the ledger, call its handler, record the outcome, send what is next."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from dramatiq.middleware import TimeLimitExceeded

from framecast.domain.errors import Cancelled, FramecastError, NotFound, TaskFailed
from framecast.domain.status import Status
from framecast.jobs.context import HandBack, TaskContext
from framecast.services import pipeline
from framecast.services.dispatch import send_tasks
from framecast.services.pipeline import TaskOutcome
from framecast.services.ports import JobQueue, Ledger, MediaStore
from framecast.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[TaskContext], TaskOutcome]


class TaskRunner:
    """The body of every actor. Stale or duplicate deliveries return without doing anything."""

    def __init__(
        self,
        ledger: Ledger,
        media: MediaStore,
        queue: JobQueue,
        settings: Settings,
        handlers: Mapping[str, Handler],
    ) -> None:
        self.ledger = ledger
        self.media = media
        self.queue = queue
        self.settings = settings
        self.handlers = handlers

    def run(self, task_id: str, attempt: int) -> None:
        try:
            self._run(task_id, attempt)
        except NotFound:
            # The project was deleted while its task waited or ran: nothing is left to do or to record.
            log.info("task %s belongs to a deleted project; dropped", task_id)

    def _run(self, task_id: str, attempt: int) -> None:
        with self.ledger.transaction() as tx:
            started = pipeline.start_task(tx, task_id, attempt)
        if started is None:
            return
        project, task = started
        log.info("run %s %s attempt %s of %s", task.kind, task.id, attempt, project.id)
        ctx = TaskContext(
            project=project, task=task, ledger=self.ledger, media=self.media, settings=self.settings
        )
        try:
            if self.settings.injected_failure(task.kind, attempt):
                raise TaskFailed(
                    f"Injected failure of {task.kind} attempt {attempt} (FRAMECAST_FAIL_TASKS).",
                    code="injected_failure",
                )
            handler = self.handlers.get(task.kind)
            if handler is None:
                raise TaskFailed(f"No handler for tasks of kind {task.kind!r}.", code="unknown_task_kind")
            outcome = handler(ctx)
        except (Cancelled, NotFound):
            log.info("task %s stopped: project cancelled or deleted", task.id)
            return
        except TimeLimitExceeded:
            # Dramatiq interrupts the thread (an exception that is not an Exception); recorded like any
            # failure, so the project ends instead of the task being redelivered and stopped again forever.
            limit = self.settings.task_time_limit_s
            log.warning("task %s ran past the time limit of %s s", task.id, limit)
            self._fail(
                task_id,
                attempt,
                {
                    "code": "time_limit_exceeded",
                    "message": f"The {task.kind} step ran longer than the time limit of {limit:g} s "
                    "(FRAMECAST_TASK_TIME_LIMIT_S); raise it for longer chunks, or make chunks shorter "
                    "(FRAMECAST_CHUNK_SECONDS).",
                },
            )
            return
        except HandBack:
            log.info("task %s handed back: worker draining", task.id)
            with self.ledger.transaction() as tx:
                handed = pipeline.requeue_task(tx, task_id, expect=Status.RUNNING, attempt=attempt)
            send_tasks(self.ledger, self.queue, handed)
            return
        except FramecastError as exc:
            log.warning("task %s failed: %s", task.id, exc.message)
            self._fail(task_id, attempt, exc.as_dict())
            return
        except Exception as exc:  # noqa: BLE001 - any bug becomes a recorded failure, never a silent hang
            log.exception("task %s crashed", task.id)
            self._fail(
                task_id,
                attempt,
                {
                    "code": "internal_error",
                    "message": f"The {task.kind} step failed unexpectedly ({exc.__class__.__name__}).",
                },
            )
            return
        finally:
            ctx.close()
        with self.ledger.transaction() as tx:
            to_send = pipeline.complete_task(tx, task_id, attempt, outcome)
        if to_send is None:
            log.info("task %s finished but its attempt went stale; output discarded", task.id)
            return
        for callback in ctx.after_commit:
            try:
                callback()
            except Exception:  # noqa: BLE001
                log.exception("after-commit cleanup of %s failed", task.id)
        send_tasks(self.ledger, self.queue, to_send)

    def _fail(self, task_id: str, attempt: int, error: dict[str, str]) -> None:
        with self.ledger.transaction() as tx:
            pipeline.fail_task(tx, task_id, attempt, error)
