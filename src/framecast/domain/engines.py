"""What an engine accepts, as ``GET /api/engines`` says it: a description clients read to offer only what
works. The engines themselves live in ``framecast.engines``; this is the plain fact the web and the
services share about them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from framecast.domain.options import Aspect, Fps, Resolution

__all__ = ["EngineInfo"]


class EngineInfo(BaseModel):
    """What ``GET /api/engines`` says of one engine: what it accepts, so clients offer only what works."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="The value of the project option `engine`.")
    label: str
    description: str
    min_duration_s: float = 1
    max_duration_s: float
    #: Durations the engine can make exactly, when it cannot make any length in the range (e.g. 4, 8, 12 s).
    durations_s: tuple[float, ...] | None = None
    aspects: tuple[Aspect, ...] = ("16:9", "9:16", "1:1")
    resolutions: tuple[Resolution, ...] = ("360p", "480p", "720p", "1080p")
    fps: tuple[Fps, ...] = (24, 25, 30, 60)
    accepts_timeline: bool = False
    voiceover: bool = False
    #: The engine makes its own sound track (the video file it returns carries audio).
    audio: bool = False
