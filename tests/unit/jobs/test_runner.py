"""TaskRunner on the fakes, with handlers written here: what each way a handler can end is recorded as (a
completion that sends what is next, a failure with the handler's code, ``internal_error`` for a bug,
nothing for a cancel), and deliveries that are stale or duplicate never reach the handler."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from dramatiq.middleware import TimeLimitExceeded

from framecast.domain.errors import Cancelled, NotFound, TaskFailed
from framecast.domain.events import EventType
from framecast.domain.models import JSON, Project, Task
from framecast.domain.status import Status
from framecast.jobs.context import HandBack, TaskContext
from framecast.jobs.registry import NoParams, TaskParams, TaskRegistry, TaskSpec
from framecast.jobs.runner import TaskRunner
from framecast.services import pipeline
from framecast.services.pipeline import TaskOutcome
from framecast.settings import Settings
from tests.fakes import FakeJobQueue, FakeLedger, FakeMediaStore
from tests.unit.support import create, log, new_project, stored_project, stored_task, task, video

Handler = Callable[[TaskContext, NoParams], TaskOutcome]


class CountParams(TaskParams):
    count: int


def _nothing(_ctx: TaskContext, _params: NoParams) -> TaskOutcome:
    return TaskOutcome()


class Calls:
    """The handlers of one test: ``behaviour[kind]`` runs when a task of that kind is delivered."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self.behaviour: dict[str, Handler] = {}
        self.contexts: list[TaskContext] = []

    def spec(self, kind: str) -> TaskSpec[NoParams]:
        def handle(ctx: TaskContext, params: NoParams) -> TaskOutcome:
            self.seen.append((ctx.task.kind, ctx.task.attempt))
            self.contexts.append(ctx)
            return self.behaviour.get(kind, _nothing)(ctx, params)

        return TaskSpec(kind, handle, NoParams)


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def runner_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cancel_check_interval_s=0.05, heartbeat_timeout_s=2.0)


def _runner(
    ledger: FakeLedger,
    media: FakeMediaStore,
    queue: FakeJobQueue,
    settings: Settings,
    calls: Calls,
    *extra: TaskSpec[CountParams],
) -> TaskRunner:
    specs = [calls.spec(kind) for kind in ("plan", "render_chunk", "compose")]
    return TaskRunner(ledger, media, queue, settings, TaskRegistry([*specs, *extra]))


@pytest.fixture
def runner(
    ledger: FakeLedger, media: FakeMediaStore, queue: FakeJobQueue, runner_settings: Settings, calls: Calls
) -> TaskRunner:
    return _runner(ledger, media, queue, runner_settings, calls)


def _planned(ledger: FakeLedger, queue: FakeJobQueue, kind: str = "plan") -> tuple[Project, Task]:
    project = new_project()
    first = task(project, kind)
    create(ledger, queue, project, [first])
    return project, first


def _raise(exc: BaseException) -> Handler:
    def handler(_ctx: TaskContext, _params: NoParams) -> TaskOutcome:
        raise exc

    return handler


def _failure(ledger: FakeLedger, project: Project) -> JSON:
    failed = stored_project(ledger, project.id)
    assert failed.status is Status.FAILED and failed.error is not None
    last = log(ledger, project.id)[-1]
    assert last.type == EventType.PROJECT_STATUS and last.data["terminal"] is True
    assert last.data["error"] == failed.error
    return failed.error


# -- success --------------------------------------------------------------------------------------------


def test_a_task_that_succeeds_is_completed_and_what_became_ready_is_sent(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)
    chunks = [task(project, "render_chunk", depends_on=[plan]) for _ in range(2)]
    compose = task(project, "compose", depends_on=chunks)
    calls.behaviour["plan"] = lambda _ctx, _p: TaskOutcome(
        timeline={"scenes": []}, new_tasks=[*chunks, compose]
    )
    runner.run(plan.id, 1)
    assert calls.seen == [("plan", 1)]
    assert stored_task(ledger, plan.id).status is Status.COMPLETED
    assert stored_project(ledger, project.id).status is Status.RUNNING
    assert queue.sent == [(plan.id, 1), (chunks[0].id, 1), (chunks[1].id, 1)]
    assert ledger.outbox_rows() == []

    for chunk in chunks:
        runner.run(chunk.id, 1)
    assert queue.sent[-1] == (compose.id, 1)
    calls.behaviour["compose"] = lambda ctx, _p: TaskOutcome(assets=[video(ctx.project, ctx.task)])
    runner.run(compose.id, 1)
    done = stored_project(ledger, project.id)
    assert done.status is Status.COMPLETED and done.result is not None
    assert [e.type for e in log(ledger, project.id)[-2:]] == [
        EventType.RENDER_RESULT,
        EventType.PROJECT_STATUS,
    ]


def test_after_commit_callbacks_run_once_the_outcome_is_stored_and_a_failing_one_stops_nothing(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)
    chunk = task(project, "render_chunk", depends_on=[plan])
    order: list[str] = []

    def handler(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
        def broken() -> None:
            order.append("broken")
            raise OSError("disk full")

        ctx.after_commit.append(lambda: order.append(stored_task(ledger, plan.id).status.value))
        ctx.after_commit.append(broken)
        ctx.after_commit.append(lambda: order.append("last"))
        return TaskOutcome(new_tasks=[chunk])

    calls.behaviour["plan"] = handler
    runner.run(plan.id, 1)
    assert order == ["completed", "broken", "last"]
    assert queue.sent[-1] == (chunk.id, 1)


def test_the_task_work_directory_is_removed_when_the_handler_returns(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    _, plan = _planned(ledger, queue)
    made: list[Path] = []

    def handler(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
        (ctx.tmp / "scratch.bin").write_bytes(b"x")
        made.append(ctx.tmp)
        return TaskOutcome()

    calls.behaviour["plan"] = handler
    runner.run(plan.id, 1)
    assert made and not made[0].exists()


# -- failures -------------------------------------------------------------------------------------------


def test_a_framecast_error_fails_the_project_with_its_code_and_message(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)
    other = task(project, "compose")
    with ledger.transaction() as tx:
        tx.add_tasks([other])
    calls.behaviour["plan"] = _raise(TaskFailed("The timeline names a missing font.", code="bad_font"))
    runner.run(plan.id, 1)
    assert _failure(ledger, project) == {"code": "bad_font", "message": "The timeline names a missing font."}
    failed = stored_task(ledger, plan.id)
    assert failed.status is Status.FAILED and failed.error == {
        "code": "bad_font",
        "message": "The timeline names a missing font.",
    }
    assert stored_task(ledger, other.id).status is Status.CANCELLED


def test_an_unexpected_exception_is_recorded_as_internal_error(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)
    calls.behaviour["plan"] = _raise(ZeroDivisionError("division by zero"))
    runner.run(plan.id, 1)
    assert _failure(ledger, project) == {
        "code": "internal_error",
        "message": "The plan step failed unexpectedly (ZeroDivisionError).",
    }


def test_a_task_past_its_time_limit_fails_with_time_limit_exceeded(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)
    calls.behaviour["plan"] = _raise(TimeLimitExceeded())
    runner.run(plan.id, 1)
    error = _failure(ledger, project)
    assert error["code"] == "time_limit_exceeded" and "FRAMECAST_TASK_TIME_LIMIT_S" in error["message"]


def test_an_injected_failure_fails_that_attempt_without_running_the_handler(
    ledger: FakeLedger, media: FakeMediaStore, queue: FakeJobQueue, tmp_path: Path, calls: Calls
) -> None:
    settings = Settings(data_dir=tmp_path / "data", fail_tasks="plan:1")
    runner = _runner(ledger, media, queue, settings, calls)
    project, plan = _planned(ledger, queue)
    runner.run(plan.id, 1)
    assert calls.seen == []
    assert _failure(ledger, project)["code"] == "injected_failure"
    with ledger.transaction() as tx:
        pipeline.retry_project(tx, tx.project(project.id, lock=True))
    runner.run(plan.id, 2)
    assert calls.seen == [("plan", 2)]
    assert stored_task(ledger, plan.id).status is Status.COMPLETED


def test_a_task_of_a_kind_nobody_handles_fails_with_unknown_task_kind(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, odd = _planned(ledger, queue, kind="hologram")
    runner.run(odd.id, 1)
    error = _failure(ledger, project)
    assert error["code"] == "unknown_task_kind" and "hologram" in error["message"]


def test_parameters_a_kind_cannot_use_fail_the_task_before_its_handler_runs(
    ledger: FakeLedger, media: FakeMediaStore, queue: FakeJobQueue, runner_settings: Settings, calls: Calls
) -> None:
    ran: list[int] = []

    def counted(_ctx: TaskContext, params: CountParams) -> TaskOutcome:
        ran.append(params.count)
        return TaskOutcome()

    runner = _runner(ledger, media, queue, runner_settings, calls, TaskSpec("counted", counted, CountParams))
    project = new_project()
    good = task(project, "counted", params={"count": 3})
    bad = task(project, "counted", params={"count": "three"})
    create(ledger, queue, project, [good, bad])
    runner.run(good.id, 1)
    runner.run(bad.id, 1)
    assert ran == [3]
    assert _failure(ledger, project)["code"] == "invalid_task_params"


# -- nothing to record ----------------------------------------------------------------------------------


def test_a_task_stopped_by_a_cancel_records_nothing_more(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)

    def cancelled_meanwhile(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
        with ledger.transaction() as tx:  # the person pressed cancel while the task ran
            pipeline.cancel_project(tx, tx.project(project.id, lock=True))
        raise Cancelled("The project was cancelled.")  # what ctx.check_cancelled() raises once it sees it

    calls.behaviour["plan"] = cancelled_meanwhile
    runner.run(plan.id, 1)
    end = stored_project(ledger, project.id)
    assert (end.status, end.error) == (
        Status.CANCELLED,
        {"code": "cancelled", "message": "The project was cancelled."},
    )
    events = log(ledger, project.id)
    assert events[-1].data["status"] == "cancelled"
    assert [e.data.get("status") for e in events].count("failed") == 0
    assert stored_task(ledger, plan.id).status is Status.CANCELLED


def test_a_cancelled_error_without_a_cancel_leaves_the_task_to_the_reconciler(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)
    calls.behaviour["plan"] = _raise(Cancelled("stale"))
    runner.run(plan.id, 1)
    events = log(ledger, project.id)
    assert events[-1].data == {"status": "running", "terminal": False}  # no failure, no completion
    assert stored_task(ledger, plan.id).status is Status.RUNNING


def test_an_outage_inside_a_step_pauses_it_for_the_reconciler_instead_of_failing_the_project(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    from datetime import timedelta

    from framecast.domain.errors import Unavailable
    from framecast.domain.models import utcnow
    from framecast.services.reconciler import Reconciler

    project, plan = _planned(ledger, queue)
    calls.behaviour["plan"] = _raise(Unavailable("The bucket is not reachable.", code="storage_down"))
    runner.run(plan.id, 1)
    assert stored_project(ledger, project.id).status is Status.RUNNING  # not failed
    assert stored_task(ledger, plan.id).status is Status.RUNNING
    # The heartbeat stopped with the step; once it is stale the reconciler sends a fresh attempt.
    with ledger.transaction() as tx:
        tx.update_task(plan.id, heartbeat_at=utcnow() - timedelta(minutes=5))
    report = Reconciler(ledger, queue, heartbeat_timeout_s=30).run_once()
    assert report.dead_requeued == 1
    assert stored_task(ledger, plan.id).attempt == 2
    calls.behaviour["plan"] = _nothing  # the outage is over
    runner.run(plan.id, 2)
    assert stored_task(ledger, plan.id).status is Status.COMPLETED


def test_a_deleted_project_is_dropped_quietly(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)

    def deleted_meanwhile(_ctx: TaskContext, _params: NoParams) -> TaskOutcome:
        with ledger.transaction() as tx:
            tx.delete_project(project.id)
        raise NotFound("No such project.", code="project_not_found")

    calls.behaviour["plan"] = deleted_meanwhile
    runner.run(plan.id, 1)
    runner.run(plan.id, 1)  # redelivered after the delete: the task is gone
    runner.run("tsk_never_existed", 1)
    assert calls.seen == [("plan", 1)]


def test_stale_and_duplicate_deliveries_never_reach_the_handler(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)
    with ledger.transaction() as tx:
        tx.update_task(plan.id, attempt=2)
    runner.run(plan.id, 1)  # an old attempt's message
    assert calls.seen == []
    runner.run(plan.id, 2)
    before = log(ledger, project.id)
    runner.run(plan.id, 2)  # the same attempt delivered again after it completed
    assert calls.seen == [("plan", 2)]
    assert log(ledger, project.id) == before


def test_output_of_an_attempt_that_went_stale_while_it_ran_is_discarded(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)
    cleaned: list[str] = []

    def requeued_meanwhile(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
        with ledger.transaction() as tx:  # the reconciler thought this worker dead
            pipeline.requeue_task(tx, plan.id, expect=Status.RUNNING, attempt=1)
        ctx.after_commit.append(lambda: cleaned.append("x"))
        return TaskOutcome(assets=[video(ctx.project, ctx.task)], new_tasks=[task(project, "compose")])

    calls.behaviour["plan"] = requeued_meanwhile
    sent_before = len(queue.sent)
    runner.run(plan.id, 1)
    assert cleaned == []
    stale = stored_task(ledger, plan.id)
    assert (stale.status, stale.attempt) == (Status.QUEUED, 2)
    with ledger.read() as tx:
        assert tx.assets(project.id) == [] and len(tx.tasks(project.id)) == 1
    assert len(queue.sent) == sent_before  # the re-queue's own send is the reconciler's business


def test_a_task_handed_back_by_a_draining_worker_is_queued_again_with_a_fresh_attempt(
    runner: TaskRunner, calls: Calls, ledger: FakeLedger, queue: FakeJobQueue
) -> None:
    project, plan = _planned(ledger, queue)
    calls.behaviour["plan"] = _raise(HandBack("the worker is shutting down"))
    runner.run(plan.id, 1)
    again = stored_task(ledger, plan.id)
    assert (again.status, again.attempt) == (Status.QUEUED, 2)
    assert queue.sent[-1] == (plan.id, 2)
    assert stored_project(ledger, project.id).status is Status.RUNNING
    runner.run(plan.id, 2)
    assert calls.seen == [("plan", 1), ("plan", 2)]
