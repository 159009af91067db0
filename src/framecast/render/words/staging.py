"""Staging an illustrated scene: its setting and sky, where each subject stands and how it moves, the
ambient effects and the camera, all kept clear of the words above them.

The frame is read top down: the words in a band at the top (inside the safe area of the aspect), the
sky below them, the horizon at 60 % of the height, and the ground line near the bottom, where subjects
that stand stand. Subjects of the sky fly below the words; fish swim below the surface. A subject that
moves is started where its whole path (from ``drawing.motion``, the same function that draws it) stays
in the frame and clear of the words; too long a path is slowed until it fits.

>>> # stage(read("A paper boat drifting down a rainy street"), Stage(...)) -> Staged(background, ...)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from framecast.domain.timeline import (
    Animation,
    Background,
    BackgroundKind,
    Camera,
    CameraKind,
    EffectKind,
    EffectLayer,
    IllustrationLayer,
    Layer,
    Motion,
    MotionKind,
    TimeOfDay,
)
from framecast.render.drawing.camera import max_pan
from framecast.render.drawing.effects import EFFECTS
from framecast.render.drawing.motion import MOTIONS, Moving
from framecast.render.words.reading import MAX_CAST, Cast
from framecast.render.words.subject_kinds import Place

#: The sky colours a setting's palette records (drawing/settings.py paints from ``time_of_day``).
SKY_PALETTES: dict[TimeOfDay, list[str]] = {
    "dawn": ["#3b4f86", "#c98aa8", "#f8c9a0"],
    "day": ["#2c72c4", "#6fb0e4", "#cfeaf8"],
    "sunset": ["#2a2c6b", "#b8477a", "#f7a25e"],
    "night": ["#050a1e", "#0d1836", "#24335e"],
}


@dataclass(frozen=True)
class Geometry:
    """Where things go in a frame of one aspect, as fractions of its height (``scale``: of the short
    side, a standing subject's box)."""

    ground: float
    sky: float
    water: float
    scale: float
    spread: float  # how wide a row of subjects spreads (fraction of the width)


GEOMETRY: dict[str, Geometry] = {
    "16:9": Geometry(ground=0.84, sky=0.44, water=0.86, scale=0.32, spread=0.7),
    "1:1": Geometry(ground=0.84, sky=0.46, water=0.86, scale=0.3, spread=0.72),
    "9:16": Geometry(ground=0.76, sky=0.46, water=0.8, scale=0.44, spread=0.66),
}

_CAMERAS: dict[str, tuple[CameraKind, ...]] = {
    "cinematic": ("push_in", "pan_left", "pan_right", "push_in"),
    "minimal": ("still", "push_in"),
    "neon": ("pan_left", "pan_right", "push_in"),
    "retro": ("pan_left", "pan_right", "still"),
    "documentary": ("push_in", "pull_out", "pan_right"),
}
_EFFECT_STRENGTH = {"storm": 1.7, "downpour": 1.8, "blizzard": 1.8, "drizzle": 0.5, "thunderstorm": 1.7}


@dataclass(frozen=True)
class Stage:
    """The scene being staged: its frame in pixels and aspect, its length, the words' lowest edge
    (``clear_below``, a fraction of the height: nothing may come above it) and the ground's highest
    point a caption leaves (``floor``)."""

    width: int
    height: int
    aspect: str
    seconds: float
    clear_below: float
    setting: BackgroundKind
    time_of_day: TimeOfDay
    clouds: float
    effects: tuple[EffectKind, ...]
    style: str
    rng: random.Random
    floor: float = 1.0
    words: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Staged:
    """What staging decided: the background, the camera, and the layers in drawing order (effects
    behind, the subjects, effects in front); the words go on top of these."""

    background: Background
    camera: Camera
    layers: list[Layer]


def _place_of(cast: Cast, setting: BackgroundKind) -> Place:
    place = cast.subject.place
    if place == "water" and setting not in ("sea", "beach", "lake"):
        return "ground"
    if cast.motion in ("fly", "float") and place == "ground" and cast.subject.group == "animals-nature":
        return "sky"
    return place


def _path(
    kind: MotionKind, st: Stage, box: float, speed: float, direction: int, life: float
) -> list[tuple[float, float]]:
    """Offsets (pixels) of a subject along its motion, sampled over its life."""
    spec = MOTIONS[kind]
    out = []
    for k in range(17):
        pose = spec.pose(Moving(life * k / 16, life, st.width, st.height, box, speed, direction))
        out.append((pose.dx, pose.dy - (pose.scale - 1) * box / 2))
    return out


def _fit(
    kind: MotionKind,
    st: Stage,
    x: float,
    y: float,
    box: float,
    direction: int,
    life: float,
    reach: float,
    room: float = 1.0,
) -> tuple[float, float, float]:
    """A start (x, y, fractions) and speed for which the whole path stays in the frame, below the words
    and above the floor; the speed drops until it does (a slow move is better than a cut-off one)."""
    w, h = st.width, st.height
    top = st.clear_below * h + 0.015 * h
    bottom = min(st.floor, 0.995) * h
    speed = 1.0
    for _ in range(12):
        path = _path(kind, st, box, speed, direction, life)
        xs = [dx for dx, _ in path]
        ys = [dy for _, dy in path]
        span_x = max(xs) - min(xs)
        # Sideways moves are centred on their place: the planned picture is the one halfway through.
        sx = x * w - (min(xs) + max(xs)) / 2 if MOTIONS[kind].across else x * w
        sy = y * h
        hi = sy + min(ys) - box / 2
        lo = sy + max(ys) + box / 2
        if hi < top and lo - hi <= bottom - top:
            sy += top - hi  # start lower: rising things start from the ground
            hi, lo = top, lo + (top - hi)
        if lo > bottom:
            sy -= lo - bottom
            hi -= lo - bottom
            lo = bottom
        fits_y = hi >= top - 1 and lo <= bottom + 1
        # ``room``: the share of the width its neighbours leave it (a row of movers keeps its spacing).
        fits_x = span_x + box + 2 * reach <= 0.94 * w and span_x <= max(room * w - box, 0.02 * w)
        lo_x, hi_x = sx + min(xs) - box / 2 - reach, sx + max(xs) + box / 2 + reach
        if fits_x and lo_x < 0.03 * w:
            sx += 0.03 * w - lo_x
        elif fits_x and hi_x > 0.97 * w:
            sx -= hi_x - 0.97 * w
        if fits_x and fits_y or speed < 0.12:
            return sx / w, sy / h, speed
        speed *= 0.7
    return x, y, speed


def _camera(st: Stage, moving: bool) -> Camera:
    choices = _CAMERAS.get(st.style, ("still",))
    if not moving:
        # Nothing in the picture moves by itself: the camera does, or the scene would look frozen.
        choices = tuple(c for c in choices if c.startswith("pan")) or ("pan_left", "pan_right")
    kind = st.rng.choice(choices)
    # A tall frame is narrow: the same pan would carry subjects out of it.
    return Camera(kind=kind, amount=0.5 if st.aspect == "9:16" and kind.startswith("pan") else 1.0)


def _effect_layers(st: Stage) -> tuple[list[Layer], list[Layer]]:
    behind: list[Layer] = []
    front: list[Layer] = []
    strength = max((_EFFECT_STRENGTH.get(w, 1.0) for w in st.words if w in _EFFECT_STRENGTH), default=1.0)
    for kind in st.effects[:3]:
        layer = EffectLayer(
            type="effect",
            kind=kind,
            intensity=strength if EFFECTS[kind].weather else 1.0,
            wind=0.6 if kind == "leaves" else 0.25 if kind == "rain" and strength > 1.2 else 0.0,
            animate_in=Animation(kind="fade", duration_s=0.6),
            animate_out=Animation(kind="none", duration_s=0),
        )
        (behind if EFFECTS[kind].behind else front).append(layer)
    return behind, front


def stage(cast: tuple[Cast, ...], st: Stage) -> Staged:
    """Stage ``cast`` in the scene ``st`` (see the module docstring)."""
    geo = GEOMETRY.get(st.aspect, GEOMETRY["16:9"])
    short = min(st.width, st.height)
    slots: list[tuple[Cast, int]] = []
    for c in cast:
        for j in range(min(c.count, 3)):
            if len(slots) < MAX_CAST:
                slots.append((c, j))
    n = len(slots)
    crowd = 1.0 if n <= 2 else 0.8 if n <= 3 else 0.66
    if st.aspect == "9:16" and n >= 2:
        crowd *= 0.82
    sideways: Literal["left", "right"] = st.rng.choice(("left", "right"))
    camera = _camera(st, any(c.motion not in ("none", "hover") for c, _ in slots) or bool(st.effects))
    reach = max_pan(camera, st.width)
    layers: list[Layer] = []
    ground_y = min(geo.ground, st.floor)
    for k, (c, j) in enumerate(slots):
        scale = geo.scale * c.subject.size * crowd * (1 - 0.14 * j)
        box = scale * short
        place = _place_of(c, st.setting)
        x = 0.5 if n == 1 else (1 - geo.spread) / 2 + geo.spread * k / (n - 1)
        if place == "sky":
            y = geo.sky + (0.05 if k % 2 else -0.02) * (n > 1)
        elif place == "water":
            y = min(geo.water, st.floor) - box / st.height / 2
        else:
            y = ground_y - box / st.height / 2 + (0.012 * j)
        motion = c.motion
        spec = MOTIONS[motion]
        if motion == "fall":  # from high up, down to the ground
            y = st.clear_below + box / st.height / 2 + 0.03
        elif motion == "sink":  # from the surface (the horizon) down into the water or the ground
            y = 0.6 + box / st.height / 2
        direction = c.direction or sideways
        life = max(0.1, st.seconds - 0.12 * k)
        room = 1.0 if n == 1 else geo.spread / (n - 1)
        x, y, speed = _fit(motion, st, x, y, box, 1 if direction == "right" else -1, life, reach, room)
        layers.append(
            IllustrationLayer(
                type="illustration",
                subject=c.subject.icon,
                x=round(x, 4),
                y=round(y, 4),
                scale=round(scale, 4),
                motion=Motion(
                    kind=motion, speed=round(speed, 3), direction=direction if spec.across else None
                ),
                depth=0.55 if place == "sky" else 1.0,
                start_s=round(min(0.12 * k, st.seconds * 0.3), 3),
                animate_in=Animation(kind="fade", duration_s=0.4),
                animate_out=Animation(kind="none", duration_s=0),
            )
        )
    behind, front = _effect_layers(st)
    background = Background(
        kind=st.setting,
        palette=SKY_PALETTES[st.time_of_day],
        motion=1.0,
        angle=0.0,
        density=1.0,
        time_of_day=st.time_of_day,
        clouds=round(st.clouds, 3),
    )
    return Staged(background, camera, [*behind, *layers, *front])
