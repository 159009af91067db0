"""The task handlers of the registry on the fake media store, with tiny videos (1 s at 360p, 24 fps: a few
hundred milliseconds for the whole graph): ``plan`` turns a prompt or a timeline into the render graph,
the graph has the shape compose's fan-in needs, and the graph run through TaskRunner ends with a video.

Not covered here: ``narration``, which runs espeak-ng in a subprocess (the e2e and integration layers
cover it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framecast.domain.models import PLAN_KIND, Project, Task, new_id
from framecast.domain.options import VideoOptions
from framecast.domain.status import Status
from framecast.domain.timeline import Timeline, parse_timeline
from framecast.jobs.context import TaskContext
from framecast.jobs.handlers import TASKS, render_graph
from framecast.jobs.runner import TaskRunner
from framecast.services import pipeline
from framecast.services.pipeline import TaskOutcome
from framecast.services.projects import ProjectService
from framecast.settings import Settings
from tests.fakes import FakeJobQueue, FakeLedger, FakeMediaStore
from tests.unit.support import create, stored_project

TINY = {"duration_s": 1, "resolution": "360p", "fps": 24, "seed": 7}


@pytest.fixture
def tiny_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cancel_check_interval_s=0.05)


def _stored(ledger: FakeLedger, queue: FakeJobQueue, **fields: Any) -> tuple[Project, Task]:
    options = VideoOptions(**{**TINY, **fields.pop("options", {})}).model_dump(mode="json")
    project = Project(
        id=new_id("prj"), owner="local", prompt=fields.pop("prompt", None), options=options, **fields
    )
    plan = Task(id=new_id("tsk"), project_id=project.id, kind=PLAN_KIND)
    create(ledger, queue, project, [plan])
    return project, plan


@pytest.fixture
def context(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore, tiny_settings: Settings
) -> Iterator[Any]:
    made: list[TaskContext] = []

    def make(project: Project, task: Task, settings: Settings = tiny_settings) -> TaskContext:
        ctx = TaskContext(project=project, task=task, ledger=ledger, media=media, settings=settings)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def _by_kind(tasks: list[Task]) -> dict[str, list[Task]]:
    found: dict[str, list[Task]] = {}
    for task in tasks:
        found.setdefault(task.kind, []).append(task)
    return found


# -- plan -----------------------------------------------------------------------------------------------


def test_plan_turns_a_prompt_into_a_timeline_and_the_render_graph(
    ledger: FakeLedger, queue: FakeJobQueue, context: Any
) -> None:
    project, plan = _stored(ledger, queue, prompt="A lighthouse at dusk, waves and gulls")
    outcome = TASKS[PLAN_KIND].run(context(project, plan))

    assert outcome.timeline is not None and outcome.assets == []
    timeline = Timeline.model_validate(outcome.timeline)
    assert (timeline.canvas.width, timeline.canvas.height, timeline.canvas.fps) == (640, 360, 24)
    assert timeline.total_frames == 24 and timeline.seed == 7
    kinds = [t.kind for t in outcome.new_tasks]
    assert kinds == ["poster", "audio", "render_chunk", "compose", "spritesheet"]
    graph = _by_kind(outcome.new_tasks)
    (chunk,), (sound,), (compose,) = graph["render_chunk"], graph["audio"], graph["compose"]
    for kind in ("poster", "audio", "render_chunk", "spritesheet"):
        assert graph[kind][0].depends_on == [plan.id], kind
    assert compose.depends_on == [chunk.id, sound.id]
    assert chunk.params == {"index": 0, "start": 0, "end": 24, "count": 1}
    assert sound.params == {"source": "music"}
    assert compose.params == {"chunks": 1, "audio": True}
    assert {t.project_id for t in outcome.new_tasks} == {project.id}
    assert len({t.id for t in outcome.new_tasks}) == 5
    assert all(t.status is Status.QUEUED and t.attempt == 1 for t in outcome.new_tasks)


def test_plan_keeps_a_sent_timeline_and_leaves_out_the_soundtrack_when_it_has_no_music(
    ledger: FakeLedger, queue: FakeJobQueue, context: Any
) -> None:
    sent = {"scenes": [{"duration_s": 0.5}, {"duration_s": 0.5}], "audio": {"music": "none"}}
    options = VideoOptions(**TINY)
    timeline = parse_timeline(sent, options).model_dump(mode="json")
    project, plan = _stored(ledger, queue, timeline=timeline)
    outcome = TASKS[PLAN_KIND].run(context(project, plan))
    assert outcome.timeline == timeline
    assert [t.kind for t in outcome.new_tasks] == ["poster", "render_chunk", "compose", "spritesheet"]
    compose = _by_kind(outcome.new_tasks)["compose"][0]
    assert compose.params == {"chunks": 1, "audio": False}
    assert compose.depends_on == [_by_kind(outcome.new_tasks)["render_chunk"][0].id]


def test_plan_with_a_voiceover_adds_only_the_narration_which_plans_the_rest(
    ledger: FakeLedger, queue: FakeJobQueue, context: Any
) -> None:
    project, plan = _stored(ledger, queue, prompt="A lighthouse at dusk", options={"voiceover": True})
    outcome = TASKS[PLAN_KIND].run(context(project, plan))
    assert [(t.kind, t.depends_on) for t in outcome.new_tasks] == [("narration", [plan.id])]
    assert outcome.timeline is not None and outcome.timeline["audio"]["voiceover"] is True


# -- the render graph -----------------------------------------------------------------------------------


@pytest.mark.parametrize("audio_source", ["music", "narration", None])
def test_the_render_graph_splits_the_video_into_whole_gop_chunks_that_compose_waits_for(
    ledger: FakeLedger, queue: FakeJobQueue, context: Any, tmp_path: Path, audio_source: Any
) -> None:
    options = VideoOptions(**{**TINY, "duration_s": 6.25})
    timeline = parse_timeline({"scenes": [{"duration_s": 6.25}]}, options)
    project, plan = _stored(
        ledger, queue, options={"duration_s": 6.25}, timeline=timeline.model_dump(mode="json")
    )
    settings = Settings(data_dir=tmp_path / "data", chunk_seconds=2.0)
    tasks = render_graph(context(project, plan, settings), timeline, audio_source=audio_source)

    chunks = [t for t in tasks if t.kind == "render_chunk"]
    ranges = [(c.params["start"], c.params["end"]) for c in chunks]
    # 150 frames in chunks of whole 2 s GOPs (48 frames at 24 fps); the 6-frame tail joins the last chunk.
    assert ranges == [(0, 48), (48, 96), (96, 150)]
    assert [c.params["index"] for c in chunks] == [0, 1, 2]
    assert {c.params["count"] for c in chunks} == {3}
    sound = [t for t in tasks if t.kind == "audio"]
    compose = next(t for t in tasks if t.kind == "compose")
    assert compose.depends_on == [c.id for c in chunks] + [s.id for s in sound]
    assert compose.params == {"chunks": 3, "audio": audio_source is not None}
    if audio_source is None:
        assert sound == []
    else:
        assert [s.params for s in sound] == [{"source": audio_source}]
    expected = [
        "poster",
        *(["audio"] if audio_source else []),
        *["render_chunk"] * 3,
        "compose",
        "spritesheet",
    ]
    assert [t.kind for t in tasks] == expected  # the send order: poster first, spritesheet last
    for task in tasks:
        TASKS[task.kind].params.model_validate(task.params)  # what the runner will accept
        if task.kind != "compose":
            assert task.depends_on == [plan.id]


# -- the whole graph, through the runner ----------------------------------------------------------------


def _drain(runner: TaskRunner, queue: FakeJobQueue) -> list[str]:
    """Run every message sent so far and every one those send, in send order (one FIFO worker)."""
    ran, i = [], 0
    while i < len(queue.messages):
        message = queue.messages[i]
        runner.run(message.task_id, message.attempt)
        ran.append(message.kind)
        i += 1
    return ran


def test_a_tiny_video_runs_through_every_handler_to_a_stored_video(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore, tiny_settings: Settings
) -> None:
    project, _ = _stored(ledger, queue, prompt="A lighthouse at dusk")
    runner = TaskRunner(ledger, media, queue, tiny_settings, TASKS)
    ran = _drain(runner, queue)
    assert ran == ["plan", "poster", "audio", "render_chunk", "spritesheet", "compose"]
    done = stored_project(ledger, project.id)
    assert done.status is Status.COMPLETED, done.error
    assert done.result is not None
    assert (done.result["width"], done.result["height"], done.result["duration_s"]) == (640, 360, 1.0)
    with ledger.read() as tx:
        assets = {a.kind: a for a in tx.assets(project.id)}
    assert set(assets) == {"poster", "spritesheet", "video"}
    assert done.result["asset_id"] == assets["video"].id
    assert done.result["poster_url"] == assets["poster"].url
    assert media.read(assets["video"].key)[4:8] == b"ftyp"
    assert media.read(assets["poster"].key)[:2] == b"\xff\xd8"  # a JPEG
    # The chunk and the soundtrack were work files: compose removed them once its video was stored.
    assert media.keys() == sorted(a.key for a in assets.values())
    assert sorted(assets["video"].key.split("/")[:1]) == [project.id]


def test_compose_with_a_chunk_missing_from_storage_fails_with_file_missing(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore, tiny_settings: Settings
) -> None:
    project, plan = _stored(ledger, queue, prompt="A lighthouse at dusk")
    runner = TaskRunner(ledger, media, queue, tiny_settings, TASKS)
    runner.run(plan.id, 1)
    for message in queue.messages[1:]:
        if message.kind != "compose":
            runner.run(message.task_id, message.attempt)
    media.delete(f"{project.id}/work/chunk-00000.mp4")  # lost, or removed by hand
    compose = next(m for m in queue.messages if m.kind == "compose")
    runner.run(compose.task_id, compose.attempt)
    failed = stored_project(ledger, project.id)
    assert failed.status is Status.FAILED and failed.error is not None
    assert failed.error["code"] == "file_missing"


def test_a_re_delivered_poster_stores_its_file_under_the_same_asset_id(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore, context: Any
) -> None:
    project, plan = _stored(ledger, queue, prompt="A lighthouse at dusk")
    planned = TASKS[PLAN_KIND].run(context(project, plan))
    with ledger.transaction() as tx:
        pipeline.start_task(tx, plan.id, 1)
        pipeline.complete_task(tx, plan.id, 1, planned)
    project = stored_project(ledger, project.id)
    poster = next(t for t in planned.new_tasks if t.kind == "poster")
    first: TaskOutcome = TASKS["poster"].run(context(project, poster))
    again: TaskOutcome = TASKS["poster"].run(context(project, poster))
    assert [a.id for a in first.assets] == [a.id for a in again.assets]
    assert media.keys() == [first.assets[0].key]


def test_a_retry_after_file_missing_makes_the_missing_file_again(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore, tiny_settings: Settings
) -> None:
    project, plan = _stored(ledger, queue, prompt="A lighthouse at dusk")
    runner = TaskRunner(ledger, media, queue, tiny_settings, TASKS)
    runner.run(plan.id, 1)
    for message in queue.messages[1:]:
        if message.kind != "compose":
            runner.run(message.task_id, message.attempt)
    media.delete(f"{project.id}/work/chunk-00000.mp4")
    compose = next(m for m in queue.messages if m.kind == "compose")
    runner.run(compose.task_id, compose.attempt)
    assert stored_project(ledger, project.id).status is Status.FAILED
    retried_from = len(queue.messages)
    ProjectService(ledger, queue, media).retry(project.id, owner="local")
    _drain_from(runner, queue, start=retried_from)
    done = stored_project(ledger, project.id)
    assert done.status is Status.COMPLETED, done.error


def _drain_from(runner: TaskRunner, queue: FakeJobQueue, *, start: int) -> None:
    i = start
    while i < len(queue.messages):
        runner.run(queue.messages[i].task_id, queue.messages[i].attempt)
        i += 1
