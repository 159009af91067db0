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

from framecast.domain.models import AssetKind, Task, TaskKind, new_id
from framecast.domain.options import VideoOptions
from framecast.domain.timeline import Timeline, parse_timeline
from framecast.jobs.context import TaskContext
from framecast.render import audio, planner, video
from framecast.render.chunks import chunk_ranges
from framecast.render.encode import encode_audio, join_chunks
from framecast.services.pipeline import TaskOutcome

log = logging.getLogger(__name__)

AUDIO_KEY = "work/audio.wav"
AAC_KEY = "work/audio.m4a"


def _options(ctx: TaskContext) -> VideoOptions:
    return VideoOptions(**ctx.project.options)


def _timeline(ctx: TaskContext) -> Timeline:
    if ctx.project.timeline is None:
        raise RuntimeError("the plan step has not stored a timeline")
    return Timeline.model_validate(ctx.project.timeline)


def render_graph(ctx: TaskContext, timeline: Timeline, *, audio_source: str | None) -> list[Task]:
    """The tasks that turn a final timeline into files; ``audio_source`` is "music", "narration" or None."""
    pid = ctx.project.id
    ranges = chunk_ranges(timeline.total_frames, timeline.canvas.fps, ctx.settings.chunk_seconds)
    chunks = [
        Task(
            id=new_id("tsk"),
            project_id=pid,
            kind=TaskKind.RENDER_CHUNK,
            depends_on=[ctx.task.id],
            params={"index": i, "start": start, "end": end, "count": len(ranges)},
        )
        for i, (start, end) in enumerate(ranges)
    ]
    poster = Task(id=new_id("tsk"), project_id=pid, kind=TaskKind.POSTER, depends_on=[ctx.task.id])
    audio = None
    if audio_source is not None:
        audio = Task(
            id=new_id("tsk"),
            project_id=pid,
            kind=TaskKind.AUDIO,
            depends_on=[ctx.task.id],
            params={"source": audio_source},
        )
    compose = Task(
        id=new_id("tsk"),
        project_id=pid,
        kind=TaskKind.COMPOSE,
        depends_on=[c.id for c in chunks] + ([audio.id] if audio else []),
        params={"chunks": len(chunks), "audio": audio is not None},
    )
    sprites = Task(id=new_id("tsk"), project_id=pid, kind=TaskKind.SPRITESHEET, depends_on=[ctx.task.id])
    # Sent in this order into one FIFO queue: the poster first (the page shows it), the soundtrack next
    # (compose waits for it; queued behind a long video's chunks it ran last and held compose up), then
    # the chunks; the spritesheet last fills the gap while the final chunks finish.
    return [poster, *([audio] if audio else []), *chunks, compose, sprites]


def plan(ctx: TaskContext) -> TaskOutcome:
    options = _options(ctx)
    if ctx.project.timeline is not None:
        timeline = parse_timeline(ctx.project.timeline, options)
    else:
        timeline = planner.plan(ctx.project.prompt or "", options)
    data = timeline.model_dump(mode="json")
    if options.voiceover:
        narration = Task(
            id=new_id("tsk"), project_id=ctx.project.id, kind=TaskKind.NARRATION, depends_on=[ctx.task.id]
        )
        return TaskOutcome(timeline=data, new_tasks=[narration])
    source = "music" if timeline.audio.music != "none" else None
    return TaskOutcome(timeline=data, new_tasks=render_graph(ctx, timeline, audio_source=source))


def narration(ctx: TaskContext) -> TaskOutcome:
    timeline = _timeline(ctx)
    adjusted, track = audio.synthesize_narration(timeline, ctx.tmp, asset_path=ctx.asset_path)
    ctx.check_cancelled()
    ctx.put_internal(track, AUDIO_KEY)
    return TaskOutcome(
        timeline=adjusted.model_dump(mode="json"),
        new_tasks=render_graph(ctx, adjusted, audio_source="narration"),
    )


def soundtrack(ctx: TaskContext) -> TaskOutcome:
    """Music (or the narration mix) as an AAC track of exactly the video's length, for compose to copy."""
    timeline = _timeline(ctx)
    if ctx.task.params.get("source") == "narration":
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


def render_chunk(ctx: TaskContext) -> TaskOutcome:
    timeline = _timeline(ctx)
    params = ctx.task.params
    out = ctx.tmp / "chunk.mp4"
    video.render_video(
        timeline,
        out,
        start_frame=int(params["start"]),
        end_frame=int(params["end"]),
        on_progress=ctx.progress,
        should_stop=ctx.should_stop,
        frame_delay_s=ctx.settings.debug_frame_delay_ms / 1000.0,
        asset_path=ctx.asset_path,
    )
    ctx.put_internal(out, _chunk_key(int(params["index"])))
    return TaskOutcome()


def _chunk_key(index: int) -> str:
    return f"work/chunk-{index:05d}.mp4"


def compose(ctx: TaskContext) -> TaskOutcome:
    count = int(ctx.task.params["chunks"])
    chunks = [ctx.internal_path(_chunk_key(i)) for i in range(count)]
    track: Path | None = ctx.internal_path(AAC_KEY) if ctx.task.params.get("audio") else None
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


def poster(ctx: TaskContext) -> TaskOutcome:
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


def spritesheet(ctx: TaskContext) -> TaskOutcome:
    timeline = _timeline(ctx)
    out = ctx.tmp / "sprites.jpg"
    meta = video.render_spritesheet(timeline, out, asset_path=ctx.asset_path)
    asset = ctx.store(
        out, kind=AssetKind.SPRITESHEET, filename="sprites.jpg", mime="image/jpeg", meta=dict(meta)
    )
    return TaskOutcome(assets=[asset])


HANDLERS = {
    TaskKind.PLAN: plan,
    TaskKind.NARRATION: narration,
    TaskKind.AUDIO: soundtrack,
    TaskKind.RENDER_CHUNK: render_chunk,
    TaskKind.COMPOSE: compose,
    TaskKind.POSTER: poster,
    TaskKind.SPRITESHEET: spritesheet,
}
