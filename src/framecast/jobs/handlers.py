"""One handler per task kind: plan, narration, render_chunk, compose, poster, spritesheet.

The task graph after planning:

    plan ─> [narration] ─┬─> poster
                         ├─> render_chunk × N ─────┬─> compose (join without re-encoding, copy the AAC)
                         ├─> [audio] (music, AAC) ─┘
                         └─> spritesheet

Everything that is not frame synthesis (music, AAC encoding, poster, thumbnails) runs beside the chunks,
so the serial steps before and after them stay short.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from framecast.domain.models import PLAN_KIND, AssetKind, Task
from framecast.domain.options import VideoOptions
from framecast.domain.timeline import Timeline, parse_timeline
from framecast.jobs.context import TaskContext
from framecast.jobs.registry import NoParams, TaskParams, TaskRegistry, TaskSpec
from framecast.render import audio, planner, video
from framecast.render.encoding.chunks import chunk_ranges
from framecast.render.encoding.encode import encode_audio, join_chunks
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


def plan(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
    options = _options(ctx)
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
    timeline = _timeline(ctx)
    out = ctx.tmp / "poster.jpg"
    width, height = video.render_poster(timeline, out, asset_path=ctx.asset_path)
    asset = ctx.store(
        out,
        kind=AssetKind.POSTER,
        filename="poster.jpg",
        mime="image/jpeg",
        meta={"width": width, "height": height},
    )
    return TaskOutcome(assets=[asset])


def spritesheet(ctx: TaskContext, _params: NoParams) -> TaskOutcome:
    timeline = _timeline(ctx)
    out = ctx.tmp / "sprites.jpg"
    meta = video.render_spritesheet(timeline, out, asset_path=ctx.asset_path)
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

#: Every task kind; one entry each (see jobs/registry.py).
TASKS = TaskRegistry([PLAN, NARRATION, SOUNDTRACK, RENDER_CHUNK, COMPOSE, POSTER, SPRITESHEET])
