"""Runs one delivered task: start it in the ledger, call its kind's handler, record the outcome, send what
is next."""

from __future__ import annotations

import logging

from dramatiq.middleware import TimeLimitExceeded

from framecast.domain.errors import Cancelled, FramecastError, NotFound, TaskFailed, Unavailable
from framecast.domain.models import JSON, Project, Task
from framecast.domain.status import Status
from framecast.engines.registry import EngineRegistry
from framecast.jobs.context import HandBack, TaskContext
from framecast.jobs.identity import worker_name
from framecast.jobs.registry import TaskRegistry
from framecast.logs import annotate, bind
from framecast.services import pipeline
from framecast.services.dispatch import send_tasks
from framecast.services.pipeline import TaskOutcome
from framecast.services.ports import JobQueue, Ledger, MediaStore
from framecast.settings import Settings

log = logging.getLogger(__name__)


class TaskRunner:
    """The body of every actor. Stale or duplicate deliveries return without doing anything.

    >>> runner = TaskRunner(ledger, media, queue, settings, TASKS)     # doctest: +SKIP
    >>> runner.run("tsk_1", attempt=1)                                 # doctest: +SKIP
    """

    def __init__(
        self,
        ledger: Ledger,
        media: MediaStore,
        queue: JobQueue,
        settings: Settings,
        tasks: TaskRegistry,
        *,
        engines: EngineRegistry | None = None,
    ) -> None:
        self.ledger = ledger
        self.media = media
        self.queue = queue
        self.settings = settings
        self.tasks = tasks
        #: The engines generate tasks call (None: only procedural projects can run).
        self.engines = engines

    def run(self, task_id: str, attempt: int) -> None:
        # Every record of this task (here, in the handler, the renderer) carries its ids.
        with bind(task_id=task_id):
            try:
                started = self._start(task_id, attempt)
                if started is not None:
                    self._execute(*started)
            except NotFound:
                # The project was deleted while its task waited or ran: nothing is left to do or to record.
                log.info("task %s belongs to a deleted project; dropped", task_id)

    def _start(self, task_id: str, attempt: int) -> tuple[Project, Task] | None:
        with self.ledger.transaction() as tx:
            started = pipeline.start_task(tx, task_id, attempt, worker=worker_name())
        if started is not None:
            project, task = started
            annotate(project_id=project.id, owner=project.owner)
            log.info("run %s %s attempt %s of %s", task.kind, task.id, attempt, project.id)
        return started

    def _execute(self, project: Project, task: Task) -> None:
        ctx = TaskContext(
            project=project,
            task=task,
            ledger=self.ledger,
            media=self.media,
            settings=self.settings,
            engines=self.engines,
        )
        try:
            outcome = self._call_handler(ctx)
        except (Cancelled, NotFound):
            log.info("task %s stopped: project cancelled or deleted", task.id)
            return
        except HandBack:
            log.info("task %s handed back: worker draining", task.id)
            self._hand_back(task)
            return
        except TimeLimitExceeded:
            # Dramatiq interrupts the thread (an exception that is not an Exception); recorded like any
            # failure, so the project ends instead of the task being redelivered and stopped again forever.
            log.warning("task %s ran past the time limit of %s s", task.id, self.settings.task_time_limit_s)
            self._fail(task, self._time_limit_error(task))
            return
        except Unavailable as exc:
            # An outage (storage, the database) is not this task's fault: recording it as a failure would
            # fail the project. The task stays running without a heartbeat, so the reconciler gives it a
            # fresh attempt once the heartbeat is stale (a natural pause of about the heartbeat timeout),
            # again and again until the outage is over.
            log.warning(
                "task %s paused by an outage (%s); it is re-queued after its heartbeat times out",
                task.id,
                exc.message,
            )
            return
        except FramecastError as exc:
            log.warning("task %s failed: %s", task.id, exc.message)
            self._fail(task, exc.as_record())
            return
        except Exception as exc:  # noqa: BLE001 - any bug becomes a recorded failure, never a silent hang
            log.exception("task %s crashed", task.id)
            message = f"The {task.kind} step failed unexpectedly ({exc.__class__.__name__})."
            self._fail(task, {"code": "internal_error", "message": message})
            return
        finally:
            ctx.close()
        self._complete(ctx, outcome)

    def _call_handler(self, ctx: TaskContext) -> TaskOutcome:
        task = ctx.task
        if self.settings.injected_failure(task.kind, task.attempt):
            raise TaskFailed(
                f"Injected failure of {task.kind} attempt {task.attempt} (FRAMECAST_FAIL_TASKS).",
                code="injected_failure",
            )
        spec = self.tasks.get(task.kind)
        if spec is None:
            raise TaskFailed(f"No handler for tasks of kind {task.kind!r}.", code="unknown_task_kind")
        return spec.run(ctx)

    def _complete(self, ctx: TaskContext, outcome: TaskOutcome) -> None:
        task = ctx.task
        with self.ledger.transaction() as tx:
            to_send = pipeline.complete_task(tx, task.id, task.attempt, outcome)
        if to_send is None:
            log.info("task %s finished but its attempt went stale; output discarded", task.id)
            return
        for callback in ctx.after_commit:
            try:
                callback()
            except Exception:  # noqa: BLE001 - a cleanup that fails leaves files for the media sweep
                log.exception("after-commit cleanup of %s failed", task.id)
        send_tasks(self.ledger, self.queue, to_send)

    def _hand_back(self, task: Task) -> None:
        with self.ledger.transaction() as tx:
            handed = pipeline.requeue_task(tx, task.id, expect=Status.RUNNING, attempt=task.attempt)
        send_tasks(self.ledger, self.queue, handed)

    def _fail(self, task: Task, error: JSON) -> None:
        with self.ledger.transaction() as tx:
            pipeline.fail_task(tx, task.id, task.attempt, error)

    def _time_limit_error(self, task: Task) -> JSON:
        limit = self.settings.task_time_limit_s
        return {
            "code": "time_limit_exceeded",
            "message": f"The {task.kind} step ran longer than the time limit of {limit:g} s "
            "(FRAMECAST_TASK_TIME_LIMIT_S); raise it for longer chunks, or make chunks shorter "
            "(FRAMECAST_CHUNK_SECONDS).",
        }
