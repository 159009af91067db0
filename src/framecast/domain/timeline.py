"""The JSON timeline: what a video is made of, scene by scene.

A timeline is the one input of the renderer. The planner writes one from a prompt; a person may send one
instead (``POST /api/projects`` with ``timeline``). Every size is resolution independent: positions and
boxes are fractions of the frame (0..1, origin top left) and text sizes are pixels *at a 1080-pixel short
side*, scaled to the canvas, so one timeline renders alike at 360p and 1080p and at every aspect ratio.

>>> from framecast.domain.options import VideoOptions
>>> tl = parse_timeline({"scenes": [{"duration_s": 2, "layers": [{"type": "text", "text": "Hi"}]}]},
...                     VideoOptions(resolution="360p", fps=24, seed=1))
>>> (tl.canvas.width, tl.canvas.height, tl.total_frames)
(640, 360, 48)

Validation errors become :class:`~framecast.domain.errors.InvalidInput` whose ``field`` is a dotted path
(``scenes.0.duration_s``) and whose message says why.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from framecast.domain.errors import InvalidInput
from framecast.domain.options import MAX_DURATION_S, Aspect, Fps, Resolution, Style, VideoOptions, frame_size

#: The background kinds a timeline may name (validation and the JSON Schema read this table). Each one is
#: drawn by its entry in ``render.drawing.backgrounds.BACKGROUNDS``, which the planner also reads; domain code
#: cannot import that numpy module, so the names live here (tests/render check that the two agree).
#: The first eight are abstract (a palette in motion); the rest are settings, a place under a sky that
#: ``time_of_day`` and ``clouds`` choose, which illustrations stand in.
BackgroundKind = Literal[
    "gradient",
    "noise",
    "particles",
    "starfield",
    "waves",
    "bokeh",
    "solid",
    "image",
    "sea",
    "lake",
    "beach",
    "city",
    "forest",
    "desert",
    "mountains",
    "meadow",
    "snowfield",
    "space",
    "room",
]
TimeOfDay = Literal["dawn", "day", "sunset", "night"]
#: How an illustration moves; each is drawn by its entry in ``render.drawing.motion.MOTIONS``.
MotionKind = Literal[
    "none",
    "float",
    "hover",
    "drift",
    "sail",
    "drive",
    "run",
    "walk",
    "swim",
    "fly",
    "rise",
    "launch",
    "fall",
    "sink",
    "jump",
    "roll",
    "spin",
    "orbit",
    "sway",
    "shake",
    "pour",
    "grow",
    "bloom",
    "pulse",
    "blink",
    "glow",
]
#: Ambient effects; each is drawn by its entry in ``render.drawing.effects.EFFECTS``.
EffectKind = Literal[
    "rain", "snow", "fog", "leaves", "fireflies", "bubbles", "sparks", "stars", "smoke", "confetti"
]
#: Slow camera moves over a scene; each is its entry in ``render.drawing.camera.CAMERAS``.
CameraKind = Literal["still", "push_in", "pull_out", "pan_left", "pan_right"]
AnimationKind = Literal[
    "none", "fade", "slide_up", "slide_down", "slide_left", "slide_right", "scale", "typewriter"
]
TransitionKind = Literal["cut", "crossfade", "wipe", "slide"]
FontName = Literal["sans", "serif", "mono", "display", "condensed"]
Weight = Literal["regular", "bold"]
Align = Literal["left", "center", "right"]
MusicKind = Literal["none", "procedural", "upload"]

MAX_SCENES = 200
MAX_LAYERS = 24
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def _check_colour(value: str) -> str:
    match = _HEX.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a colour; write it as #rrggbb, e.g. #ff8800")
    return "#" + match.group(1).lower()


Colour = Annotated[
    str, AfterValidator(_check_colour), Field(description="A colour as #rrggbb.", examples=["#ffcc00"])
]
Fraction = Annotated[float, Field(ge=-1.0, le=2.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Canvas(_Model):
    """Frame size and rate. ``width``/``height`` default to the aspect and resolution (both even)."""

    aspect: Aspect = "16:9"
    resolution: Resolution = "720p"
    fps: Fps = 30
    width: int = Field(0, ge=0, le=3840, description="Pixels; 0 means from aspect and resolution.")
    height: int = Field(0, ge=0, le=3840, description="Pixels; 0 means from aspect and resolution.")

    @model_validator(mode="after")
    def _fill_size(self) -> Canvas:
        if (self.width == 0) != (self.height == 0):
            raise ValueError("give both width and height, or neither")
        if self.width == 0:
            w, h = frame_size(self.aspect, self.resolution)
            object.__setattr__(self, "width", w)
            object.__setattr__(self, "height", h)
        for name in ("width", "height"):
            value = getattr(self, name)
            if value < 32 or value % 2:
                raise ValueError(f"{name} must be an even number of pixels, at least 32 (got {value})")
        return self


class Animation(_Model):
    """How a layer enters or leaves: its kind and how long it takes."""

    kind: AnimationKind = "fade"
    duration_s: float = Field(0.5, ge=0, le=10)


class Background(_Model):
    """A procedural (or uploaded image) background with a palette and a motion speed."""

    kind: BackgroundKind = "gradient"
    palette: list[Colour] = Field(
        default_factory=lambda: ["#0f2027", "#203a43", "#2c5364"], min_length=1, max_length=6
    )
    motion: float = Field(1.0, ge=0, le=4, description="0 is still, 1 is the default drift, 4 is fast.")
    angle: float = Field(30.0, ge=-360, le=360, description="Direction of gradients and drift, in degrees.")
    density: float = Field(1.0, ge=0.1, le=4, description="How many particles, stars, waves or circles.")
    asset_id: str | None = Field(None, description="Uploaded image for kind 'image'.")
    time_of_day: TimeOfDay = Field(
        "day", description="Settings (sea, city, forest...): the sky's colours and the light on the ground."
    )
    clouds: float = Field(
        0.3, ge=0, le=1, description="Settings: cloud cover, 0 a clear sky, 1 overcast (rain, storms)."
    )

    @model_validator(mode="after")
    def _image_needs_asset(self) -> Background:
        if self.kind == "image" and not self.asset_id:
            raise ValueError("a background of kind 'image' needs an asset_id (upload the image first)")
        return self


class _Timed(_Model):
    start_s: float = Field(0.0, ge=0, description="When the layer appears, from the scene start.")
    end_s: float | None = Field(None, ge=0, description="When it is gone; default the scene end.")
    animate_in: Animation = Field(default_factory=Animation)
    animate_out: Animation = Field(default_factory=lambda: Animation(kind="none", duration_s=0.4))
    opacity: float = Field(1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> _Timed:
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"end_s ({self.end_s}) must be after start_s ({self.start_s})")
        return self


class TextLayer(_Timed):
    """A block of text, wrapped to ``max_width`` and shrunk if it would not fit the frame."""

    type: Literal["text"] = "text"
    text: str = Field(min_length=1, max_length=500)
    font: FontName = "sans"
    size: float = Field(72, ge=8, le=400, description="Pixels at a 1080-pixel short side.")
    weight: Weight = "bold"
    color: Colour = "#ffffff"
    x: Fraction = 0.5
    y: Fraction = 0.5
    align: Align = "center"
    max_width: float = Field(0.86, gt=0.05, le=1.0, description="Wrap width, a fraction of the frame width.")
    shadow: bool = True
    box: Colour | None = Field(None, description="A translucent box behind the text, e.g. for captions.")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must contain something other than spaces")
        return value


class CaptionLayer(_Timed):
    """Subtitle text at the bottom of the frame on a translucent box (narration captions)."""

    type: Literal["caption"] = "caption"
    text: str = Field(min_length=1, max_length=500)
    size: float = Field(44, ge=8, le=200)
    color: Colour = "#ffffff"
    box: Colour = "#000000"
    animate_in: Animation = Field(default_factory=lambda: Animation(kind="fade", duration_s=0.15))
    animate_out: Animation = Field(default_factory=lambda: Animation(kind="fade", duration_s=0.15))


class ShapeLayer(_Timed):
    """A filled rectangle, rounded rectangle, circle or line (a bar under a title)."""

    type: Literal["shape"] = "shape"
    shape: Literal["rect", "rounded", "circle", "line"] = "rect"
    x: Fraction = 0.5
    y: Fraction = 0.5
    width: float = Field(0.2, gt=0, le=2)
    height: float = Field(0.01, gt=0, le=2)
    color: Colour = "#ffffff"


class ImageLayer(_Timed):
    """An uploaded image, fitted into a box (centre ``x``, ``y``; size a fraction of the frame)."""

    type: Literal["image"] = "image"
    asset_id: str = Field(min_length=1, max_length=200)
    x: Fraction = 0.5
    y: Fraction = 0.5
    width: float = Field(0.5, gt=0, le=2)
    height: float = Field(0.5, gt=0, le=2)
    fit: Literal["contain", "cover"] = "contain"


class Motion(_Model):
    """How an illustration moves while it is on screen (see docs/timeline.md for each kind).

    Moves across the frame (drift, sail, drive, run, walk, swim, fly, roll) go ``direction``; the set's
    subjects face left, so one that goes right is mirrored to face the way it goes.
    """

    kind: MotionKind = "float"
    speed: float = Field(1.0, ge=0, le=4, description="1 is the kind's own pace; 0 holds it still.")
    direction: Literal["left", "right"] | None = Field(
        None, description="Moves across the frame: which way (default left, the way the subjects face)."
    )


class IllustrationLayer(_Timed):
    """A subject from the bundled illustration set (Fluent Emoji Flat), drawn from its vector art at the
    size it is shown, in a square box centred on ``x``, ``y`` when it appears, moved by ``motion``.

    ``subject`` is a name or keyword of the set ("sailboat", "boat", "kitty", "red apple") or the emoji
    itself; a subject the set cannot show draws nothing (the render goes on).
    """

    type: Literal["illustration"] = "illustration"
    subject: str = Field(min_length=1, max_length=80, examples=["sailboat", "cat", "🚗"])
    x: Fraction = 0.5
    y: Fraction = 0.6
    scale: float = Field(0.3, gt=0, le=4, description="The box's side, a fraction of the frame's short side.")
    motion: Motion = Field(default_factory=Motion)
    flip: bool = Field(False, description="Mirror it (face right).")
    depth: float = Field(
        1.0,
        ge=0,
        le=1,
        description="How near: 1 stands on the ground plane and moves with the camera, 0 is at the horizon.",
    )
    animate_in: Animation = Field(default_factory=lambda: Animation(kind="fade", duration_s=0.4))

    @field_validator("subject")
    @classmethod
    def _subject_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("subject must name something, e.g. 'boat'")
        return value.strip()


class EffectLayer(_Timed):
    """An ambient effect over the whole frame: rain, snow, fog, leaves, fireflies, bubbles, sparks, stars,
    smoke or confetti. Drawn in layer order: before the subjects it is behind them, after them in front."""

    type: Literal["effect"] = "effect"
    kind: EffectKind = "rain"
    intensity: float = Field(1.0, gt=0, le=4, description="How much of it: 1 is a fair shower.")
    color: Colour | None = Field(None, description="Default: the effect's own colour.")
    speed: float = Field(1.0, ge=0, le=4)
    wind: float = Field(0.0, ge=-2, le=2, description="Sideways drift: negative blows to the left.")
    animate_in: Animation = Field(default_factory=lambda: Animation(kind="fade", duration_s=0.6))


#: Every layer model; each is drawn by its entry in ``render.drawing.layers.LAYERS`` (a test checks they agree).
Layer = Annotated[
    TextLayer | CaptionLayer | ShapeLayer | ImageLayer | IllustrationLayer | EffectLayer,
    Field(discriminator="type"),
]
#: The ``type`` names of the layer models (error messages list them).
LAYER_TYPES: frozenset[str] = frozenset(
    model.model_fields["type"].default for model in get_args(get_args(Layer)[0])
)


class Transition(_Model):
    """How a scene replaces the one before it (ignored on the first scene).

    The renderer shortens a transition that is longer than the scene it opens.
    """

    kind: TransitionKind = "crossfade"
    duration_s: float = Field(0.6, ge=0, le=5)


class Camera(_Model):
    """A slow camera move over a scene. Settings move in depth layers (parallax: the sky least, the ground
    most) and illustrations with them by their ``depth``; text stays where it is put."""

    kind: CameraKind = "still"
    amount: float = Field(1.0, ge=0, le=4, description="1: a slow move (push-in 10 %, a pan of 1/4 frame).")


class Scene(_Model):
    """A stretch of the video with one background, some layers and an optional narration."""

    duration_s: float = Field(gt=0, le=MAX_DURATION_S)
    background: Background = Field(default_factory=Background)
    camera: Camera = Field(default_factory=Camera)
    layers: list[Layer] = Field(default_factory=list, max_length=MAX_LAYERS)
    transition: Transition = Field(default_factory=Transition)
    narration: str | None = Field(None, max_length=2000, description="Spoken with espeak-ng if voiceover.")
    narration_start_s: float = Field(0.3, ge=0, description="When the narration starts in the scene.")


class Audio(_Model):
    """Narration voice and background music."""

    voiceover: bool = Field(False, description="Speak each scene's narration (espeak-ng).")
    voice: str = Field("en-us", pattern=r"^[a-zA-Z0-9_+\-]{1,40}$")
    speed_wpm: int = Field(160, ge=80, le=400)
    music: MusicKind = "procedural"
    music_asset_id: str | None = None
    music_volume: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _upload_needs_asset(self) -> Audio:
        if self.music == "upload" and not self.music_asset_id:
            raise ValueError("music 'upload' needs a music_asset_id (upload the audio file first)")
        return self


class Timeline(_Model):
    """A whole video: canvas, scenes in order, audio and a seed for everything random."""

    version: Literal[1] = 1
    canvas: Canvas = Field(default_factory=Canvas)
    scenes: list[Scene] = Field(min_length=1, max_length=MAX_SCENES)
    audio: Audio = Field(default_factory=Audio)
    seed: int = Field(0, ge=0, le=2**53)
    style: Style | None = None
    title: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _total_length(self) -> Timeline:
        total = sum(s.duration_s for s in self.scenes)
        if total > MAX_DURATION_S + 1e-6:
            raise ValueError(f"the scenes last {total:.1f} s in all; the limit is {MAX_DURATION_S} s")
        if round(total * self.canvas.fps) < 1:
            raise ValueError("the timeline is shorter than one frame")
        return self

    @property
    def duration_s(self) -> float:
        """Length in seconds (a whole number of frames)."""
        return self.total_frames / self.canvas.fps

    @property
    def total_frames(self) -> int:
        return self.scene_frames()[-1]

    def scene_frames(self) -> list[int]:
        """Frame boundaries: ``[0, end of scene 0, end of scene 1, ...]`` (rounded cumulatively)."""
        bounds = [0]
        acc = 0.0
        for scene in self.scenes:
            acc += scene.duration_s
            bounds.append(max(bounds[-1] + 1, round(acc * self.canvas.fps)))
        return bounds


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        # Tagged unions put the tag in the location ("layers", 0, "text", "size"): not a field.
        if isinstance(item, str) and i > 0 and isinstance(loc[i - 1], int) and item in LAYER_TYPES:
            continue
        if isinstance(item, str) and item.startswith("function-"):
            continue
        parts.append(str(item))
    return ".".join(parts)


def invalid_from(error: ValidationError, prefix: str = "") -> InvalidInput:
    """The first problem of a pydantic error as an :class:`InvalidInput` naming the field and why."""
    first = error.errors()[0]
    field = _field_path(tuple(first["loc"]))
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    why = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        why = "is not a known field (check the spelling; see /api/schema/timeline)"
    elif first["type"] == "missing":
        why = "is required"
    elif first["type"] == "union_tag_invalid":
        why = f"type must be one of {', '.join(sorted(LAYER_TYPES))}"
    message = f"{field}: {why}" if field else why
    return InvalidInput(f"Invalid timeline: {message}", field=field or None)


def derive_seed(text: str) -> int:
    """A stable seed from text (prompt or timeline JSON) so the same input renders the same."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")


def parse_timeline(data: dict[str, Any], options: VideoOptions) -> Timeline:
    """Validate a person's JSON timeline; ``options`` fill in what it leaves out.

    The canvas defaults to the options' aspect, resolution and fps; the seed to ``options.seed`` (or one
    derived from the JSON); ``audio.voiceover`` to ``options.voiceover``; ``style`` to ``options.style``.
    Raises :class:`InvalidInput` naming the first wrong field, e.g. ``scenes.0.duration_s``.
    """
    if not isinstance(data, dict):
        raise InvalidInput(
            "Invalid timeline: it must be a JSON object with a 'scenes' list", field="timeline"
        )
    filled = dict(data)
    canvas = filled.get("canvas")
    if canvas is None:
        canvas = {}
    if not isinstance(canvas, dict):
        raise InvalidInput("Invalid timeline: canvas must be an object", field="canvas")
    filled["canvas"] = {
        "aspect": options.aspect,
        "resolution": options.resolution,
        "fps": options.fps,
        **canvas,
    }
    if filled.get("seed") is None:
        filled["seed"] = (
            options.seed if options.seed is not None else derive_seed(json.dumps(data, sort_keys=True))
        )
    audio = filled.get("audio")
    if audio is None:
        audio = {}
    if isinstance(audio, dict) and "voiceover" not in audio:
        filled["audio"] = {**audio, "voiceover": options.voiceover}
    if filled.get("style") is None and options.style is not None:
        filled["style"] = options.style
    try:
        return Timeline.model_validate(filled)
    except ValidationError as exc:
        raise invalid_from(exc) from None


def timeline_json_schema() -> dict[str, Any]:
    """The JSON Schema served at ``/api/schema/timeline`` and written to ``docs/timeline.schema.json``."""
    schema = Timeline.model_json_schema()
    schema["$id"] = "https://framecast.local/api/schema/timeline"
    schema["title"] = "Framecast timeline"
    return schema
