"""What a rendered or joined file holds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoInfo:
    """Size, rate and length of a video file (or of the frames a chunk render wrote)."""

    width: int
    height: int
    fps: int
    frames: int
    duration_s: float
