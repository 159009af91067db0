"""One handler per task kind: plan, narration, render_chunk, compose, poster, spritesheet, generate.

The task graph after planning, for the procedural engine:

    plan ─> [narration] ─┬─> poster
                         ├─> render_chunk × N ─────┬─> compose (join without re-encoding, copy the AAC)
                         ├─> [audio] (music, AAC) ─┘
                         └─> spritesheet

and for every other engine (docs/engines.md), where one ``generate`` task stands for the chunks:

    plan ─> generate ─┬─> poster ──────┬─> compose (its one chunk: the generated video, and its sound)
                      └─> spritesheet ─┘

``generate`` calls the engine with an ``EngineRun`` (progress, cancellation, a durable checkpoint), encodes
the frames it returns with the renderer's encoder (or normalises the file it returns to H.264), and stores
the result as chunk 0; poster and spritesheet take their pictures from that video, and compose (after them:
it removes the chunk) stores it as the project's video, exactly as for a procedural project.

Everything that is not frame synthesis (music, AAC encoding, poster, thumbnails) runs beside the chunks,
so the serial steps before and after them stay short.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from framecast.domain.errors import Cancelled, EngineNotAvailable, NotFound, TaskFailed
from framecast.domain.models import PLAN_KIND, AssetKind, Task
from framecast.domain.options import DEFAULT_ENGINE, VideoOptions
from framecast.domain.timeline import Timeline, derive_seed, parse_timeline
from framecast.engines.base import Engine, GeneratedFrames, GenerationRequest
from framecast.jobs.context import TaskContext
from framecast.jobs.engine_run import TaskEngineRun
from framecast.jobs.registry import NoParams, TaskParams, TaskRegistry, TaskSpec
from framecast.render import audio, planner, video
from framecast.render.encoding.chunks import chunk_ranges
from framecast.render.encoding.encode import encode_audio, encode_rgb_frames, join_chunks, normalize_video
from framecast.services.pipeline import TaskOutcome

log = logging.getLogger(__name__)

AUDIO_KEY = "work/audio.wav"
AAC_KEY = "work/audio.m4a"


class ChunkParams(TaskParams):
    """Frames ``start`` up to (not including) ``end`` of the timeline, chunk ``index`` of ``count``."""

    index: int
    start: int
    end: int
    count: int


AudioSource = Literal["music", "narration"]


class SoundtrackParams(TaskParams):
    source: AudioSource


class ComposeParams(TaskParams):
    chunks: int
    audio: bool


def _options(ctx: TaskContext) -> VideoOptions:
    return VideoOptions(**ctx.project.options)


def _timeline(ctx: TaskContext) -> Timeline:
    if ctx.project.timeline is None:
        raise RuntimeError("the plan step has not stored a timeline")
    return Timeline.model_validate(ctx.project.timeline)


def render_graph(ctx: TaskContext, timeline: Timeline, *, audio_source: AudioSource | None) -> list[Task]:
    """The tasks that turn a final timeline into files; ``audio_source`` is "music", "narration" or None."""
    pid, after = ctx.project.id, [ctx.task.id]
    ranges = chunk_ranges(timeline.total_frames, timeline.canvas.fps, ctx.settings.chunk_seconds)
    chunks = [
        RENDER_CHUNK.task(
            pid, depends_on=after, params=ChunkParams(index=i, start=start, end=end, count=len(ranges))
        )
        for i, (start, end) in enumerate(ranges)
    ]
    sound = None
    if audio_source is not None:
        sound = SOUNDTRACK.task(pid, depends_on=after, params=SoundtrackParams(source=audio_source))
    compose = COMPOSE.task(
        pid,
        depends_on=[c.id for c in chunks] + ([sound.id] if sound else []),
        params=ComposeParams(chunks=len(chunks), audio=sound is not None),
    )
    # Sent in this order into one FIFO queue: the poster first (the page shows it), the soundtrack next
    # (compose waits for it; queued behind a long video's chunks it ran last and held compose up), then
    # the chunks; the spritesheet last fills the gap while the final chunks finish.
    return [
        POSTER.task(pid, depends_on=after),
        *([sound] if sound else []),
        *chunks,
        compose,
        SPRITESHEET.task(pid, depends_on=after),
    ]


def _generated(options: VideoOptions) -> bool:
    """The project's video comes from an engine's ``generate`` (not from the procedural renderer)."""
    return options.engine != DEFAULT_ENGINE


def prompt_timeline(prompt: str, options: VideoOptions) -> Timeline:
    """What the snapshot shows of a generated video: one scene with the prompt, at the project's size."""
    data = {
        "title": prompt[:200],
        "seed": options.seed if options.seed is not None else derive_seed(prompt),
        "scenes": [{"duration_s": options.duration_s, "layers": [{"type": "caption", "text": prompt[:500]}]}],
        "audio": {"music": "none"},
    }
    return parse_timeline(data, options)


def plan(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
    options = _options(ctx)
    if _generated(options):
        timeline = prompt_timeline(ctx.project.prompt or "", options)
        step = GENERATE.task(ctx.project.id, depends_on=[ctx.task.id])
        return TaskOutcome(timeline=timeline.model_dump(mode="json"), new_tasks=[step])
    if ctx.project.timeline is not None:
        timeline = parse_timeline(ctx.project.timeline, options)
    else:
        timeline = planner.plan(ctx.project.prompt or "", options)
    data = timeline.model_dump(mode="json")
    if options.voiceover:
        narrate = NARRATION.task(ctx.project.id, depends_on=[ctx.task.id])
        return TaskOutcome(timeline=data, new_tasks=[narrate])
    source: AudioSource | None = "music" if timeline.audio.music != "none" else None
    return TaskOutcome(timeline=data, new_tasks=render_graph(ctx, timeline, audio_source=source))


def _engine(ctx: TaskContext, name: str) -> Engine:
    if ctx.engines is None:
        raise TaskFailed("This worker runs no engines but the procedural one.", code="engine_not_available")
    try:
        return ctx.engines.get(name)
    except EngineNotAvailable as exc:  # configured in the API process, not in this worker's
        raise TaskFailed(
            f"This worker has no {name!r} engine (check its FRAMECAST_ settings); retry once it has.",
            code="engine_not_available",
        ) from exc


def generate(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
    """Have the project's engine make the video, as chunk 0 (and its sound as the soundtrack)."""
    options = _options(ctx)
    timeline = _timeline(ctx)
    engine = _engine(ctx, options.engine)
    canvas = timeline.canvas
    request = GenerationRequest(
        project_id=ctx.project.id,
        prompt=ctx.project.prompt or "",
        options=options,
        width=canvas.width,
        height=canvas.height,
        fps=canvas.fps,
        frames=timeline.total_frames,
        seed=timeline.seed,
    )
    run = TaskEngineRun(ctx)
    out = ctx.tmp / "generated.mp4"
    sound = None
    try:
        generated = engine.generate(request, run)
        if isinstance(generated, GeneratedFrames):
            info = encode_rgb_frames(generated.frames, out, canvas.width, canvas.height, generated.fps)
        else:
            normalized = normalize_video(generated.path, out)
            info = normalized.info
            sound = generated.path if normalized.audio else None
        ctx.check_cancelled()
    except Cancelled:
        _cancel_engine(ctx, engine, run)
        raise
    ctx.put_internal(out, _chunk_key(0))
    if sound is not None:
        ctx.put_internal(sound, AAC_KEY)  # compose copies its AAC (or encodes another codec) beside the video
    pid, after = ctx.project.id, [ctx.task.id]
    still = POSTER.task(pid, depends_on=after)
    sheet = SPRITESHEET.task(pid, depends_on=after)
    # After the stills: compose removes the chunk they read.
    join = COMPOSE.task(
        pid,
        depends_on=[ctx.task.id, still.id, sheet.id],
        params=ComposeParams(chunks=1, audio=sound is not None),
    )
    return TaskOutcome(new_tasks=[still, sheet, join], frames=info.frames)


def _cancel_engine(ctx: TaskContext, engine: Engine, run: TaskEngineRun) -> None:
    """The project was cancelled or deleted (not: this attempt went stale, when a new attempt resumes the
    engine's work): tell the engine, so a provider stops its job."""
    try:
        with ctx.ledger.read() as tx:
            ended = tx.project(ctx.project.id).status.terminal
    except NotFound:
        ended = True
    if not ended:
        return
    try:
        engine.cancel(run.checkpoint())
    except Exception:  # noqa: BLE001 - the project is cancelled either way; the provider's job may run on
        log.exception("the %s engine could not cancel %s", engine.info.name, ctx.project.id)


def narration(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
    timeline = _timeline(ctx)
    adjusted, track = audio.synthesize_narration(timeline, ctx.tmp, asset_path=ctx.asset_path)
    ctx.check_cancelled()
    ctx.put_internal(track, AUDIO_KEY)
    return TaskOutcome(
        timeline=adjusted.model_dump(mode="json"),
        new_tasks=render_graph(ctx, adjusted, audio_source="narration"),
    )


def soundtrack(ctx: TaskContext, params: SoundtrackParams) -> TaskOutcome:
    """Music (or the narration mix) as an AAC track of exactly the video's length, for compose to copy."""
    timeline = _timeline(ctx)
    if params.source == "narration":
        wav: Path | None = ctx.internal_path(AUDIO_KEY)
    else:
        wav = audio.render_music(timeline, ctx.tmp / "audio.wav", asset_path=ctx.asset_path)
    if wav is None:
        raise RuntimeError("the timeline asks for no music, so no audio task should exist")
    ctx.check_cancelled()
    out = ctx.tmp / "audio.m4a"
    encode_audio(wav, out, timeline.total_frames / timeline.canvas.fps)
    ctx.put_internal(out, AAC_KEY)
    return TaskOutcome()


def render_chunk(ctx: TaskContext, params: ChunkParams) -> TaskOutcome:
    timeline = _timeline(ctx)
    out = ctx.tmp / "chunk.mp4"
    video.render_video(
        timeline,
        out,
        start_frame=params.start,
        end_frame=params.end,
        on_progress=ctx.progress,
        should_stop=ctx.should_stop,
        frame_delay_s=ctx.settings.debug_frame_delay_ms / 1000.0,
        asset_path=ctx.asset_path,
    )
    ctx.put_internal(out, _chunk_key(params.index))
    return TaskOutcome(frames=params.end - params.start)


def _chunk_key(index: int) -> str:
    return f"work/chunk-{index:05d}.mp4"


def compose(ctx: TaskContext, params: ComposeParams) -> TaskOutcome:
    count = params.chunks
    chunks = [ctx.internal_path(_chunk_key(i)) for i in range(count)]
    track: Path | None = ctx.internal_path(AAC_KEY) if params.audio else None
    out = ctx.tmp / "video.mp4"
    info = join_chunks(chunks, out, audio_path=track)
    ctx.check_cancelled()
    asset = ctx.store(
        out,
        kind=AssetKind.VIDEO,
        filename="video.mp4",
        mime="video/mp4",
        meta={
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "frames": info.frames,
            "duration_s": round(info.duration_s, 3),
        },
    )

    def _cleanup() -> None:
        for key in [*(_chunk_key(i) for i in range(count)), *([AAC_KEY] if track else [])]:
            ctx.delete_internal(key)

    ctx.after_commit.append(_cleanup)
    return TaskOutcome(assets=[asset])


def poster(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
    out = ctx.tmp / "poster.jpg"
    if _generated(_options(ctx)):
        width, height = video.poster_from_video(ctx.internal_path(_chunk_key(0)), out)
    else:
        width, height = video.render_poster(_timeline(ctx), out, asset_path=ctx.asset_path)
    asset = ctx.store(
        out,
        kind=AssetKind.POSTER,
        filename="poster.jpg",
        mime="image/jpeg",
        meta={"width": width, "height": height},
    )
    return TaskOutcome(assets=[asset])


def spritesheet(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
    out = ctx.tmp / "sprites.jpg"
    if _generated(_options(ctx)):
        meta = video.spritesheet_from_video(ctx.internal_path(_chunk_key(0)), out)
    else:
        meta = video.render_spritesheet(_timeline(ctx), out, asset_path=ctx.asset_path)
    asset = ctx.store(
        out, kind=AssetKind.SPRITESHEET, filename="sprites.jpg", mime="image/jpeg", meta=dict(meta)
    )
    return TaskOutcome(assets=[asset])


PLAN = TaskSpec(PLAN_KIND, plan, NoParams)
NARRATION = TaskSpec("narration", narration, NoParams)
SOUNDTRACK = TaskSpec("audio", soundtrack, SoundtrackParams)
RENDER_CHUNK = TaskSpec("render_chunk", render_chunk, ChunkParams, progress_weight=8.0)
COMPOSE = TaskSpec("compose", compose, ComposeParams, progress_weight=1.0)
POSTER = TaskSpec("poster", poster, NoParams)
SPRITESHEET = TaskSpec("spritesheet", spritesheet, NoParams)
GENERATE = TaskSpec("generate", generate, NoParams, progress_weight=8.0)

#: Every task kind; one entry each (see jobs/registry.py).
TASKS = TaskRegistry([PLAN, NARRATION, SOUNDTRACK, RENDER_CHUNK, COMPOSE, POSTER, SPRITESHEET, GENERATE])
