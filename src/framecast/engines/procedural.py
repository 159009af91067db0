"""The procedural engine: Framecast's own renderer (planner, drawing, PyAV), which runs anywhere.

Its projects take the chunked task graph of ``jobs/handlers.py`` (plan, render_chunk × N, compose), so
the worker never calls ``generate`` for them; ``generate`` renders the whole video in one go, for callers
that want any engine through the one interface (tests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from framecast.domain.options import MAX_DURATION_S, Aspect, Fps, Resolution, VideoOptions
from framecast.engines.base import (
    EngineInfo,
    EngineRun,
    Generated,
    GeneratedFile,
    GenerationRequest,
    check_against_info,
)

INFO = EngineInfo(
    name="procedural",
    label="Procedural",
    description="Framecast's own renderer: scenes, text, illustrations, music and voiceover, drawn on the CPU.",
    min_duration_s=1,
    max_duration_s=MAX_DURATION_S,
    aspects=get_args(Aspect),
    resolutions=get_args(Resolution),
    fps=get_args(Fps),
    accepts_timeline=True,
    voiceover=True,
    audio=True,
)


class ProceduralEngine:
    """The default engine; always in the registry."""

    @property
    def info(self) -> EngineInfo:
        return INFO

    def check(self, options: VideoOptions, *, has_timeline: bool) -> None:
        check_against_info(INFO, options, has_timeline=has_timeline)

    def generate(self, request: GenerationRequest, run: EngineRun) -> Generated:
        from framecast.render import planner, video

        timeline = planner.plan(request.prompt, request.options)
        out = run.tmp / "procedural.mp4"
        video.render_video(timeline, out, on_progress=run.progress, should_stop=run.should_stop)
        return GeneratedFile(out)

    def cancel(self, checkpoint: Mapping[str, str]) -> None:
        """Nothing runs outside the worker: stopping the render is all."""
