"""Small builders for unit tests: a project with a task graph, a task run through the pipeline's rules."""

from __future__ import annotations

from framecast.domain.models import Asset, AssetKind, Event, Project, Task, new_id
from framecast.services import pipeline
from framecast.services.dispatch import send_tasks
from framecast.services.pipeline import TaskOutcome
from tests.fakes import FakeJobQueue, FakeLedger


def new_project(owner: str = "local", **fields: object) -> Project:
    return Project(id=new_id("prj"), owner=owner, prompt="A lighthouse at dusk", options={}, **fields)  # type: ignore[arg-type]


def task(project: Project, kind: str, *, depends_on: list[Task] | None = None, **fields: object) -> Task:
    return Task(
        id=new_id("tsk"),
        project_id=project.id,
        kind=kind,
        depends_on=[d.id for d in depends_on or []],
        **fields,  # type: ignore[arg-type]
    )


def create(ledger: FakeLedger, queue: FakeJobQueue, project: Project, tasks: list[Task]) -> list[Task]:
    """Create the project with its tasks and send what is ready, as ``ProjectService.submit`` does."""
    with ledger.transaction() as tx:
        ready = pipeline.create_project(tx, project, tasks)
    send_tasks(ledger, queue, ready)
    return ready


def fan_in(project: Project, chunks: int = 3) -> tuple[list[Task], Task]:
    """``chunks`` render chunks and the compose that waits for all of them."""
    parts = [task(project, "render_chunk", params={"index": i}, position=i) for i in range(chunks)]
    return parts, task(project, "compose", depends_on=parts, position=chunks)


def video(project: Project, producer: Task, *, name: str = "video.mp4") -> Asset:
    asset_id = new_id("ast")
    return Asset(
        id=asset_id,
        kind=AssetKind.VIDEO,
        filename=name,
        key=f"{project.id}/{asset_id}/{name}",
        mime="video/mp4",
        size=100,
        owner=project.owner,
        project_id=project.id,
        task_id=producer.id,
        meta={"duration_s": 1.0, "width": 640, "height": 360},
    )


def start(ledger: FakeLedger, task_id: str, attempt: int = 1) -> bool:
    with ledger.transaction() as tx:
        return pipeline.start_task(tx, task_id, attempt) is not None


def complete(
    ledger: FakeLedger,
    queue: FakeJobQueue,
    task_id: str,
    attempt: int = 1,
    outcome: TaskOutcome | None = None,
) -> list[Task] | None:
    """Complete a task as the runner does (the transaction, then sending what became ready)."""
    with ledger.transaction() as tx:
        to_send = pipeline.complete_task(tx, task_id, attempt, outcome or TaskOutcome())
    if to_send is not None:
        send_tasks(ledger, queue, to_send)
    return to_send


def run(
    ledger: FakeLedger,
    queue: FakeJobQueue,
    task_id: str,
    attempt: int = 1,
    outcome: TaskOutcome | None = None,
) -> list[Task] | None:
    """Start and complete one delivery of a task."""
    assert start(ledger, task_id, attempt), f"{task_id} attempt {attempt} did not start"
    return complete(ledger, queue, task_id, attempt, outcome)


def log(ledger: FakeLedger, project_id: str) -> list[Event]:
    return ledger.events_after(project_id, 0, limit=100_000)


def types(ledger: FakeLedger, project_id: str) -> list[str]:
    return [e.type for e in log(ledger, project_id)]


def stored_task(ledger: FakeLedger, task_id: str) -> Task:
    with ledger.read() as tx:
        return tx.task(task_id)


def stored_project(ledger: FakeLedger, project_id: str) -> Project:
    with ledger.read() as tx:
        return tx.project(project_id)
