"""Motions of illustrations: a pure function of time to a pose (offset, scale, angle, opacity).

Each kind is one entry of :data:`MOTIONS` (its names are ``domain.timeline.MotionKind``). Paces are in
frame widths (sideways) and heights (up and down) per second at ``speed`` 1, so a motion reads alike at
every size and aspect; the planner reads the same functions to keep a moving subject clear of the title.

>>> move = Moving(t=2.0, life=4.0, width=1280, height=720, box=240, speed=1.0, direction=-1)
>>> pose = MOTIONS["drive"].pose(move)
>>> pose.dx < -200 and pose.dy == 0
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from framecast.domain.timeline import MotionKind

TAU = 2 * math.pi


@dataclass(frozen=True)
class Moving:
    """What a motion needs: seconds since the subject appeared (``t``) of its ``life``, the frame and the
    subject's box in pixels, its speed and the way it goes sideways (-1 left, +1 right)."""

    t: float
    life: float
    width: int
    height: int
    box: float
    speed: float
    direction: int

    @property
    def p(self) -> float:
        """Progress through its life, 0..1."""
        return min(1.0, max(0.0, self.t / self.life)) if self.life > 0 else 1.0


@dataclass(frozen=True)
class Pose:
    """Offset from the start position (pixels; +y down), scale, angle (degrees, anticlockwise) and
    opacity of a subject at one instant."""

    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0
    angle: float = 0.0
    opacity: float = 1.0


def _across(pace: float) -> Callable[[Moving], float]:
    return lambda m: m.direction * pace * m.speed * m.t * m.width


def _bob(m: Moving, height: float, period: float, phase: float = 0.0) -> float:
    return height * m.height * math.sin(TAU * m.t / period + phase)


def _anchored(m: Moving, scale: float) -> float:
    """Upward offset that keeps the bottom of a scaled box where it was (things grow from the ground)."""
    return (1 - scale) * m.box / 2


def _ease_out(p: float) -> float:
    p = min(1.0, max(0.0, p))
    return 1 - (1 - p) ** 3


def _ease_out_back(p: float) -> float:
    p = min(1.0, max(0.0, p))
    c = 1.7
    return 1 + (c + 1) * (p - 1) ** 3 + c * (p - 1) ** 2


def _none(m: Moving) -> Pose:
    return Pose()


def _hover(m: Moving) -> Pose:
    return Pose(dy=_bob(m, 0.012, 2.6 / max(m.speed, 0.2)))


def _float(m: Moving) -> Pose:
    return Pose(
        dx=0.008 * m.width * math.sin(TAU * m.t / 3.7),
        dy=-0.03 * m.speed * m.t * m.height + _bob(m, 0.01, 2.4),
    )


def _drift(m: Moving) -> Pose:
    return Pose(dx=_across(0.035)(m), dy=_bob(m, 0.007, 2.2), angle=3 * math.sin(TAU * m.t / 2.9))


def _sail(m: Moving) -> Pose:
    return Pose(dx=_across(0.045)(m), dy=_bob(m, 0.006, 2.4, 1.0), angle=5 * math.sin(TAU * m.t / 2.4))


def _drive(m: Moving) -> Pose:
    return Pose(dx=_across(0.12)(m))


def _run(m: Moving) -> Pose:
    return Pose(dx=_across(0.09)(m), dy=-0.02 * m.height * abs(math.sin(TAU * m.t * 0.8 * max(m.speed, 0.3))))


def _walk(m: Moving) -> Pose:
    return Pose(
        dx=_across(0.05)(m), dy=-0.01 * m.height * abs(math.sin(TAU * m.t * 0.55 * max(m.speed, 0.3)))
    )


def _swim(m: Moving) -> Pose:
    wave = TAU * m.t / 1.8
    return Pose(
        dx=_across(0.05)(m), dy=0.02 * m.height * math.sin(wave), angle=-m.direction * 6 * math.cos(wave)
    )


def _fly(m: Moving) -> Pose:
    climb = -0.045 * m.speed * m.t * m.height
    return Pose(dx=_across(0.07)(m), dy=climb + _bob(m, 0.012, 0.9), angle=m.direction * -4.0)


def _rise(m: Moving) -> Pose:
    return Pose(dx=0.01 * m.width * math.sin(TAU * m.t / 3.0), dy=-0.05 * m.speed * m.t * m.height)


def _launch(m: Moving) -> Pose:
    shake = 0.003 * m.width * math.sin(TAU * 12 * m.t) * max(0.0, 1.0 - m.t)
    return Pose(dx=shake, dy=-0.5 * 0.1 * m.speed * m.t * m.t * m.height)


def _fall(m: Moving) -> Pose:
    return Pose(
        dx=0.02 * m.width * math.sin(TAU * m.t / 2.0),
        dy=0.5 * 0.06 * m.speed * m.t * m.t * m.height,
        angle=10 * math.sin(TAU * m.t / 2.0),
    )


def _sink(m: Moving) -> Pose:
    return Pose(
        dy=0.04 * m.speed * m.t * m.height, opacity=1.0 - 0.3 * m.p, angle=4 * math.sin(TAU * m.t / 3)
    )


def _jump(m: Moving) -> Pose:
    hop = abs(math.sin(math.pi * m.t * 1.2 * max(m.speed, 0.2)))
    return Pose(dy=-0.08 * m.height * hop)


def _roll(m: Moving) -> Pose:
    dx = _across(0.08)(m)
    return Pose(dx=dx, angle=-math.degrees(dx / max(m.box / 2, 1.0)))


def _spin(m: Moving) -> Pose:
    return Pose(angle=-90 * m.speed * m.t)


def _orbit(m: Moving) -> Pose:
    r = 0.12 * min(m.width, m.height)
    a = TAU * m.t / 5.0 * m.speed
    return Pose(dx=r * math.cos(a) - r, dy=0.55 * r * math.sin(a))


def _sway(m: Moving) -> Pose:
    angle = 7 * math.sin(TAU * m.t / 2.8 * max(m.speed, 0.2))
    rad = math.radians(angle)
    # About the base: the top swings, the bottom stays.
    return Pose(dx=-math.sin(rad) * m.box / 2, dy=(1 - math.cos(rad)) * m.box / 2, angle=angle)


def _shake(m: Moving) -> Pose:
    s = math.sin(TAU * 7 * m.t * max(m.speed, 0.2))
    return Pose(dx=0.006 * m.width * s, angle=3 * s)


def _pour(m: Moving) -> Pose:
    return Pose(angle=-m.direction * 40 * _ease_out(m.t / (1.2 / max(m.speed, 0.2))))


def _grow(m: Moving) -> Pose:
    scale = 0.35 + 0.65 * _ease_out(m.t / (1.6 / max(m.speed, 0.2)))
    return Pose(scale=scale, dy=_anchored(m, scale))


def _bloom(m: Moving) -> Pose:
    e = _ease_out_back(m.t / (1.1 / max(m.speed, 0.2)))
    scale = 0.2 + 0.8 * e
    return Pose(scale=scale, dy=_anchored(m, scale), angle=25 * (1 - min(1.0, e)))


def _pulse(m: Moving) -> Pose:
    beat = abs(math.sin(math.pi * 1.2 * m.speed * m.t)) ** 6  # a beat every 0.8 s
    return Pose(scale=1 + 0.08 * beat)


def _blink(m: Moving) -> Pose:
    on = math.sin(TAU * 0.9 * max(m.speed, 0.2) * m.t) > -0.6
    return Pose(opacity=1.0 if on else 0.2)


def _glow(m: Moving) -> Pose:
    s = math.sin(TAU * m.t / 1.6 * max(m.speed, 0.2))
    return Pose(opacity=0.82 + 0.18 * s, scale=1 + 0.03 * s)


@dataclass(frozen=True)
class MotionSpec:
    """One motion: its pose at any instant; ``across``: it moves sideways (the subject faces its way);
    ``halo``: it is drawn with a soft glow around it."""

    pose: Callable[[Moving], Pose]
    across: bool = False
    halo: bool = False


#: Every motion, by the name a timeline gives it. A new motion is its name in ``MotionKind`` and an entry
#: here (tests/render check that the two agree).
MOTIONS: dict[MotionKind, MotionSpec] = {
    "none": MotionSpec(_none),
    "hover": MotionSpec(_hover),
    "float": MotionSpec(_float),
    "drift": MotionSpec(_drift, across=True),
    "sail": MotionSpec(_sail, across=True),
    "drive": MotionSpec(_drive, across=True),
    "run": MotionSpec(_run, across=True),
    "walk": MotionSpec(_walk, across=True),
    "swim": MotionSpec(_swim, across=True),
    "fly": MotionSpec(_fly, across=True),
    "rise": MotionSpec(_rise),
    "launch": MotionSpec(_launch),
    "fall": MotionSpec(_fall),
    "sink": MotionSpec(_sink),
    "jump": MotionSpec(_jump),
    "roll": MotionSpec(_roll, across=True),
    "spin": MotionSpec(_spin),
    "orbit": MotionSpec(_orbit),
    "sway": MotionSpec(_sway),
    "shake": MotionSpec(_shake),
    "pour": MotionSpec(_pour),
    "grow": MotionSpec(_grow),
    "bloom": MotionSpec(_bloom),
    "pulse": MotionSpec(_pulse),
    "blink": MotionSpec(_blink),
    "glow": MotionSpec(_glow, halo=True),
}
