from __future__ import annotations

from collections.abc import Callable

import pytest

from framecast.domain.options import VideoOptions
from framecast.domain.timeline import Canvas, Timeline
from framecast.render.words.planner import plan


def tiny(timeline: Timeline, width: int = 192, height: int = 108) -> Timeline:
    """The same timeline on a tiny canvas (fast tests)."""
    canvas = Canvas(
        aspect=timeline.canvas.aspect,
        resolution=timeline.canvas.resolution,
        fps=timeline.canvas.fps,
        width=width,
        height=height,
    )
    return timeline.model_copy(update={"canvas": canvas})


@pytest.fixture
def small_plan() -> Callable[..., Timeline]:
    def make(prompt: str = "A calm ocean at dawn. Waves roll in. Stars appear.", **opts: object) -> Timeline:
        options = VideoOptions(**{"duration_s": 3, "resolution": "360p", "fps": 24, "seed": 7, **opts})
        return tiny(plan(prompt, options))

    return make
