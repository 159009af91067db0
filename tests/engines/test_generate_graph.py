"""The task graph of a non-procedural engine, through TaskRunner on the fake ledger and media store, with
engines defined here: frames encoded by Framecast's encoder, a provider-like file normalised to H.264 with
its sound, poster and spritesheet from the generated video, the checkpoint an attempt records kept for the
next, and cancel reaching the engine."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from framecast.domain.errors import Cancelled
from framecast.domain.models import PLAN_KIND, Project, Task, new_id
from framecast.domain.options import VideoOptions
from framecast.domain.status import Status
from framecast.engines.base import (
    EngineInfo,
    EngineRun,
    Generated,
    GeneratedFile,
    GeneratedFrames,
    GenerationRequest,
    check_against_info,
)
from framecast.engines.procedural import ProceduralEngine
from framecast.engines.registry import EngineRegistry
from framecast.jobs.handlers import TASKS
from framecast.jobs.runner import TaskRunner
from framecast.render.encoding.encode import decode_frames, probe
from framecast.services import pipeline
from framecast.services.dispatch import send_tasks
from framecast.settings import Settings
from tests.fakes import FakeJobQueue, FakeLedger, FakeMediaStore
from tests.unit.support import create, stored_project

OPTIONS = {"duration_s": 1, "resolution": "360p", "fps": 24, "aspect": "16:9", "seed": 3}


class FakeEngine:
    """Frames (a colour ramp) or a file (mpeg4 in a .mov with AAC, as a provider might send); records a
    checkpoint first; can cancel its own project mid-run (a person pressing Cancel)."""

    def __init__(self, name: str, *, file: bool = False) -> None:
        self.info = EngineInfo(name=name, label=name, description="test", max_duration_s=4)
        self.file = file
        self.cancelled: list[Mapping[str, str]] = []
        self.seen_checkpoints: list[dict[str, str]] = []
        self.on_step: Any = None

    def check(self, options: VideoOptions, *, has_timeline: bool) -> None:
        check_against_info(self.info, options, has_timeline=has_timeline)

    def generate(self, request: GenerationRequest, run: EngineRun) -> Generated:
        self.seen_checkpoints.append(dict(run.checkpoint()))
        if "job" not in run.checkpoint():
            run.record("job", f"job-{request.project_id}")
        for step in range(1, 5):
            if self.on_step is not None:
                self.on_step(step)
            run.progress(step, 4)
            run.check_cancelled()
        if self.file:
            path = run.tmp / "provider.mov"
            _write_provider_file(path, request)
            return GeneratedFile(path)
        return GeneratedFrames(_ramp(request), fps=request.fps)

    def cancel(self, checkpoint: Mapping[str, str]) -> None:
        self.cancelled.append(dict(checkpoint))


def _ramp(request: GenerationRequest) -> Iterator[np.ndarray]:
    for n in range(request.frames):
        frame = np.zeros((request.height, request.width, 3), np.uint8)
        frame[..., 0] = int(255 * n / max(1, request.frames - 1))
        frame[..., 2] = 128
        yield frame


def _write_provider_file(path: Path, request: GenerationRequest) -> None:
    with av.open(str(path), "w", format="mov") as out:
        stream = out.add_stream("mpeg4", rate=request.fps)
        stream.width, stream.height, stream.pix_fmt = request.width, request.height, "yuv420p"
        sound = out.add_stream("aac", rate=48000)
        for frame_array in _ramp(request):
            frame = av.VideoFrame.from_ndarray(frame_array, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        samples = np.zeros((1, 1024), np.float32)
        for i in range(48):
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            chunk.sample_rate = 48000
            chunk.pts = i * 1024
            chunk.time_base = Fraction(1, 48000)
            for packet in sound.encode(chunk):
                out.mux(packet)
        for packet in sound.encode(None):
            out.mux(packet)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cancel_check_interval_s=0.05, progress_interval_s=1e-6)


def _stored(ledger: FakeLedger, queue: FakeJobQueue, engine: str) -> Project:
    options = VideoOptions(**OPTIONS, engine=engine).model_dump(mode="json")  # type: ignore[arg-type]
    project = Project(id=new_id("prj"), owner="local", prompt="A red dawn", options=options)
    create(ledger, queue, project, [Task(id=new_id("tsk"), project_id=project.id, kind=PLAN_KIND)])
    return project


def _drain(runner: TaskRunner, queue: FakeJobQueue, start: int = 0) -> list[str]:
    ran, i = [], start
    while i < len(queue.messages):
        message = queue.messages[i]
        runner.run(message.task_id, message.attempt)
        ran.append(message.kind)
        i += 1
    return ran


@pytest.mark.parametrize("file", [False, True], ids=["frames", "file"])
def test_a_generated_video_is_delivered_like_a_procedural_one(
    ledger: FakeLedger,
    queue: FakeJobQueue,
    media: FakeMediaStore,
    settings: Settings,
    file: bool,
    tmp_path: Path,
) -> None:
    engine = FakeEngine("fake", file=file)
    runner = TaskRunner(
        ledger, media, queue, settings, TASKS, engines=EngineRegistry([ProceduralEngine(), engine])
    )
    project = _stored(ledger, queue, "fake")
    assert _drain(runner, queue) == ["plan", "generate", "poster", "spritesheet", "compose"]
    done = stored_project(ledger, project.id)
    assert done.status is Status.COMPLETED, done.error
    assert done.timeline is not None and len(done.timeline["scenes"]) == 1
    assert done.result is not None
    assert (done.result["width"], done.result["height"], done.result["duration_s"]) == (640, 360, 1.0)
    with ledger.read() as tx:
        assets = {a.kind: a for a in tx.assets(project.id)}
        events = ledger.events_after(project.id, 0, 1000)
        (generate,) = [t for t in tx.tasks(project.id) if t.kind == "generate"]
    assert set(assets) == {"poster", "spritesheet", "video"}
    assert generate.checkpoint == {"job": f"job-{project.id}"}
    progress = [e.data for e in events if e.type == "render_progress"]
    assert [p["frame"] for p in progress if p["kind"] == "generate"] == [
        1,
        2,
        3,
    ]  # the 4th: the completion says it
    assert [e.type for e in events][-2:] == ["render_result", "project_status"]
    # The video is H.264 at the project's size; the first frame is the ramp's first (blue), not a drawing.
    video = tmp_path / "video.mp4"
    video.write_bytes(media.read(assets["video"].key))
    info = probe(video)
    assert (info.width, info.height, info.fps, info.frames) == (640, 360, 24, 24)
    with av.open(str(video)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert bool(container.streams.audio) is file  # the provider's sound is kept
    frames = list(decode_frames(video))

    def luma(r: int, b: int) -> float:  # BT.709, limited range, of the ramp's (r, 0, b)
        return 16 + 219 * (0.2126 * r + 0.0722 * b) / 255

    assert abs(frames[0][:360].mean() - luma(0, 128)) < 3
    assert abs(frames[-1][:360].mean() - luma(255, 128)) < 3
    assert media.read(assets["poster"].key)[:2] == b"\xff\xd8"
    assert assets["spritesheet"].meta["count"] == 1
    assert media.keys() == sorted(a.key for a in assets.values())  # the work files were removed
    assert engine.cancelled == []


def test_cancel_while_generating_cancels_the_engines_job(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore, settings: Settings
) -> None:
    engine = FakeEngine("fake")
    runner = TaskRunner(
        ledger, media, queue, settings, TASKS, engines=EngineRegistry([ProceduralEngine(), engine])
    )
    project = _stored(ledger, queue, "fake")

    def press_cancel(step: int) -> None:
        if step == 2:
            with ledger.transaction() as tx:
                pipeline.cancel_project(tx, tx.project(project.id, lock=True))

    engine.on_step = press_cancel
    _drain(runner, queue)
    assert stored_project(ledger, project.id).status is Status.CANCELLED
    assert engine.cancelled == [{"job": f"job-{project.id}"}]


def test_a_re_run_gets_the_first_attempts_checkpoint_and_a_person_retry_starts_afresh(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore, settings: Settings
) -> None:
    engine = FakeEngine("fake")
    runner = TaskRunner(
        ledger, media, queue, settings, TASKS, engines=EngineRegistry([ProceduralEngine(), engine])
    )
    project = _stored(ledger, queue, "fake")

    def crash(step: int) -> None:
        if step == 2 and len(engine.seen_checkpoints) == 1:
            raise Cancelled("stand-in for a worker that died: the attempt just stops")

    engine.on_step = crash
    _drain(runner, queue)
    sent = len(queue.messages)
    with ledger.read() as tx:
        (generate,) = [t for t in tx.tasks(project.id) if t.kind == "generate"]
    assert generate.status is Status.RUNNING  # the "dead" attempt left it running
    # The reconciler's path for a silent task: a fresh attempt, the checkpoint kept.
    with ledger.transaction() as tx:
        resent = pipeline.requeue_task(tx, generate.id, expect=Status.RUNNING, attempt=generate.attempt)
    send_tasks(ledger, queue, resent)
    _drain(runner, queue, start=sent)
    assert stored_project(ledger, project.id).status is Status.COMPLETED
    assert engine.seen_checkpoints == [{}, {"job": f"job-{project.id}"}]
    # A person's retry of a cancelled or failed project clears it: that job is over.
    with ledger.transaction() as tx:
        task = tx.task(generate.id)
        task.status = Status.FAILED
        pipeline._fresh_attempt(tx, task, keep_checkpoint=False)
        assert tx.task(generate.id).checkpoint == {}
