"""What an engine is: the piece that turns a project's prompt into frames or a video file.

Framecast's delivery (tasks, events, storage, poster, spritesheet) is the same for every engine; an engine
only generates. The procedural renderer is one engine; a local diffusion pipeline and the hosted video APIs
(OpenAI, Replicate, fal) are others. Each is one entry in the engine registry.

An engine is called from a worker task with an ``EngineRun``: progress, cancellation, a scratch directory,
and a durable checkpoint (what an earlier attempt of the same task recorded, such as a provider's job id, so
a re-delivered task resumes that job instead of paying for a new one).

>>> info = EngineInfo(name="demo", label="Demo", description="Nothing.", max_duration_s=4)
>>> info.accepts_timeline
False
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from framecast.domain.engines import EngineInfo
from framecast.domain.errors import EngineNotAvailable, FramecastError
from framecast.domain.options import VideoOptions

__all__ = [
    "Engine",
    "EngineInfo",
    "EngineNotAvailable",
    "EngineRun",
    "Generated",
    "GeneratedFile",
    "GeneratedFrames",
    "GenerationRequest",
    "ProviderError",
    "check_against_info",
]


class ProviderError(FramecastError):
    """A hosted provider's failure, as a project error with a stable code:
    ``provider_rate_limited`` (with ``retry_after_s``), ``provider_rejected_prompt``,
    ``provider_unavailable``, ``provider_timeout``. The message never carries a key or a provider URL."""

    code = "provider_unavailable"

    def __init__(self, message: str, *, code: str, retry_after_s: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s

    def as_record(self) -> dict[str, Any]:
        """The project error: with ``retry_after_s`` (the provider's wait) when the provider said one.

        >>> ProviderError("slow down", code="provider_rate_limited", retry_after_s=17).as_record()
        {'code': 'provider_rate_limited', 'message': 'slow down', 'retry_after_s': 17}
        """
        out = super().as_record()
        if self.retry_after_s is not None:
            out["retry_after_s"] = self.retry_after_s
        return out


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate: the project's prompt and options, resolved to pixels and frames."""

    project_id: str
    prompt: str
    options: VideoOptions
    width: int
    height: int
    fps: int
    frames: int
    seed: int


@dataclass(frozen=True)
class GeneratedFrames:
    """Frames the worker encodes with Framecast's own encoder (H x W x 3, uint8, RGB), at ``fps``."""

    frames: Iterator[NDArray[np.uint8]]
    fps: int


@dataclass(frozen=True)
class GeneratedFile:
    """A finished video file in the run's scratch directory (a hosted provider's result, downloaded)."""

    path: Path


Generated = GeneratedFrames | GeneratedFile


class EngineRun(Protocol):
    """What a worker gives an engine for one attempt of one generation task."""

    @property
    def tmp(self) -> Path:
        """A scratch directory of this attempt, removed after it."""
        ...

    def progress(self, done: int, total: int) -> None:
        """Report progress (denoising steps, provider percent); throttled and persisted by the worker."""
        ...

    def should_stop(self) -> bool:
        """True once the project was cancelled; check it between steps (raises when the worker drains)."""
        ...

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` once the project was cancelled."""
        ...

    def checkpoint(self) -> Mapping[str, str]:
        """What earlier attempts of this task recorded (empty on the first attempt)."""
        ...

    def record(self, key: str, value: str) -> None:
        """Record ``key`` durably on the task before going on (a provider's job id, before waiting on it)."""
        ...


@runtime_checkable
class Engine(Protocol):
    """One engine. ``check`` runs in the API when a project is created (422 on what it cannot do);
    ``generate`` runs in a worker; ``cancel`` runs when the project is cancelled while it generates."""

    @property
    def info(self) -> EngineInfo: ...

    def check(self, options: VideoOptions, *, has_timeline: bool) -> None: ...

    def generate(self, request: GenerationRequest, run: EngineRun) -> Generated: ...

    def cancel(self, checkpoint: Mapping[str, str]) -> None: ...


def check_against_info(info: EngineInfo, options: VideoOptions, *, has_timeline: bool) -> None:
    """The checks every engine shares: raise ``EngineNotAvailable`` naming what the engine can do."""
    if has_timeline and not info.accepts_timeline:
        raise EngineNotAvailable(
            f"The {info.name} engine makes video from a prompt only; send a prompt, "
            "or use an engine that takes a timeline (GET /api/engines lists them).",
            field="engine",
        )
    if options.voiceover and not info.voiceover:
        raise EngineNotAvailable(f"The {info.name} engine cannot add a voiceover.", field="voiceover")
    if not info.min_duration_s <= options.duration_s <= info.max_duration_s:
        raise EngineNotAvailable(
            f"The {info.name} engine makes {info.min_duration_s:g} to {info.max_duration_s:g} s "
            f"of video; {options.duration_s:g} s was asked.",
            field="duration_s",
        )
    if info.durations_s is not None and options.duration_s not in info.durations_s:
        allowed = ", ".join(f"{d:g}" for d in info.durations_s)
        raise EngineNotAvailable(
            f"The {info.name} engine makes videos of {allowed} s; {options.duration_s:g} s was asked.",
            field="duration_s",
        )
    for name, value, allowed_values in (
        ("aspect", options.aspect, info.aspects),
        ("resolution", options.resolution, info.resolutions),
        ("fps", options.fps, info.fps),
    ):
        if value not in allowed_values:
            allowed = ", ".join(str(v) for v in allowed_values)
            raise EngineNotAvailable(
                f"The {info.name} engine accepts {name} {allowed}; {value} was asked.", field=name
            )
