"""What a person may ask for: the video options and the create request.

The same models validate the HTTP body, the CLI flags and the SDK call, so a bad value gets the same
message everywhere.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from framecast.domain.webhooks import MAX_URL_CHARS, WebhookEvent, valid_webhook_url

Aspect = Literal["16:9", "9:16", "1:1"]
Resolution = Literal["360p", "480p", "720p", "1080p"]
Fps = Literal[24, 25, 30, 60]
Style = Literal["cinematic", "minimal", "neon", "retro", "documentary"]

MAX_PROMPT_CHARS = 2000
MAX_DURATION_S = 600

#: The engine every Framecast has: the procedural renderer, which runs anywhere.
DEFAULT_ENGINE = "procedural"

_SHORT_SIDE = {"360p": 360, "480p": 480, "720p": 720, "1080p": 1080}


def frame_size(aspect: str, resolution: str) -> tuple[int, int]:
    """Width and height in pixels (both even, as yuv420p needs) for an aspect and a resolution.

    >>> frame_size("16:9", "720p")
    (1280, 720)
    >>> frame_size("9:16", "360p")
    (360, 640)
    """
    short = _SHORT_SIDE[resolution]
    if aspect == "1:1":
        return short, short
    long = int(round(short * 16 / 9 / 2)) * 2
    return (long, short) if aspect == "16:9" else (short, long)


class VideoOptions(BaseModel):
    """Options of a video; every field has a default so ``VideoOptions()`` is a valid 8 s 720p30 clip."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    duration_s: float = Field(
        8, ge=1, le=MAX_DURATION_S, description="Length of the video in seconds (1..600)."
    )
    aspect: Aspect = "16:9"
    resolution: Resolution = "720p"
    fps: Fps = 30
    seed: int | None = Field(None, ge=0, le=2**53, description="Same seed and input give the same frames.")
    style: Style | None = None
    voiceover: bool = False
    engine: str = Field(
        DEFAULT_ENGINE,
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Which engine makes the video (GET /api/engines lists this server's; default procedural).",
    )

    @property
    def size(self) -> tuple[int, int]:
        return frame_size(self.aspect, self.resolution)


#: A webhook URL: http(s), at most 2000 characters (every refusal, the length too, is webhook_url_not_allowed;
#: where the URL leads is checked by the service).
WebhookUrl = Annotated[
    str,
    AfterValidator(valid_webhook_url),
    Field(json_schema_extra={"format": "uri", "maxLength": MAX_URL_CHARS}),
]

#: Fields of the request that are not video options.
_NOT_OPTIONS = frozenset({"prompt", "timeline", "webhook", "webhook_events"})


class ProjectRequest(VideoOptions):
    """The body of ``POST /api/projects``: a ``prompt`` or a ``timeline``, plus the video options, and
    optionally a ``webhook`` that gets this project's ``webhook_events`` (default: the three endings)."""

    prompt: str | None = Field(None, min_length=1, max_length=MAX_PROMPT_CHARS)
    timeline: dict[str, Any] | None = None
    webhook: WebhookUrl | None = Field(
        None, description="An http(s) URL that gets this project's events as Standard Webhooks."
    )
    webhook_events: list[WebhookEvent] | None = Field(
        None,
        min_length=1,
        description="Which of started, file, completed, failed, cancelled (default: the last three).",
    )

    @field_validator("prompt")
    @classmethod
    def _prompt_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("the prompt must contain some text, not only spaces")
        if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
            raise ValueError("the prompt contains control characters; send plain text")
        return value

    @field_validator("timeline")
    @classmethod
    def _finite_numbers(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            path = _non_finite(value, "timeline")
            if path:
                raise ValueError(f"{path} is not a finite number (NaN and Infinity are not allowed)")
        return value

    @model_validator(mode="after")
    def _prompt_or_timeline(self) -> ProjectRequest:
        if (self.prompt is None) == (self.timeline is None):
            raise ValueError(
                "send either a prompt (text, 1 to 2000 characters) or a timeline (JSON), not both"
            )
        if self.webhook_events is not None and self.webhook is None:
            raise ValueError("webhook_events needs a webhook (the URL that gets them)")
        return self

    def options(self) -> VideoOptions:
        return VideoOptions(**self.model_dump(exclude=set(_NOT_OPTIONS)))


def _non_finite(value: Any, path: str) -> str | None:
    """The path of the first NaN or Infinity in a JSON value (Python's json accepts them; JSON does not)."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        for key, item in value.items():
            found = _non_finite(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _non_finite(item, f"{path}.{index}")
            if found:
                return found
    return None
