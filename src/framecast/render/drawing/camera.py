"""Slow camera moves: each scene's camera as a ``View`` per instant, which the layers apply by depth.

A pan moves near things more than far ones (parallax): the ground plane (depth 1) moves by the whole pan,
the horizon and the sky by a fraction of it. A push-in enlarges near things about the frame's centre;
the sky, at infinity, does not grow. Moves ease in and out, and are centred on the middle of the scene,
so the picture the planner composed is exactly the one shown halfway through.

>>> view_at(Camera(kind="pan_left"), 0.0, 4.0, 1280).pan < 0 < view_at(Camera(kind="pan_left"), 4.0, 4.0, 1280).pan
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from framecast.domain.timeline import Camera, CameraKind

PAN_WIDTHS = 0.25  # how far a pan of amount 1 travels, in frame widths, over the scene
PUSH = 0.10  # how much a push-in of amount 1 enlarges the ground plane over the scene
SKY_PARALLAX = 0.15  # the share of a pan the sky takes


@dataclass(frozen=True)
class View:
    """The camera at one instant: ``pan`` pixels (positive: the world moves right on screen) and ``zoom``
    of the ground plane about ``centre`` (fractions of the frame)."""

    pan: float = 0.0
    zoom: float = 1.0
    centre: tuple[float, float] = (0.5, 0.55)

    def shift(self, depth: float) -> float:
        """Pixels a thing at ``depth`` (0 horizon .. 1 ground plane) moves sideways."""
        return self.pan * (SKY_PARALLAX + (1 - SKY_PARALLAX) * depth)

    def scale(self, depth: float) -> float:
        """How much larger a thing at ``depth`` is drawn."""
        return 1.0 + (self.zoom - 1.0) * depth


STILL = View()


def _ease(p: float) -> float:
    p = min(1.0, max(0.0, p))
    return p * p * (3 - 2 * p)


#: (progress 0..1, amount) -> (pan in frame widths, zoom).
CameraMove = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class CameraSpec:
    """One camera move: where it is at each point of the scene."""

    move: CameraMove


#: Every camera move, by the name a timeline gives it (names: ``domain.timeline.CameraKind``).
CAMERAS: dict[CameraKind, CameraSpec] = {
    "still": CameraSpec(lambda p, a: (0.0, 1.0)),
    "push_in": CameraSpec(lambda p, a: (0.0, 1.0 + PUSH * a * (_ease(p) - 0.5))),
    "pull_out": CameraSpec(lambda p, a: (0.0, 1.0 + PUSH * a * (0.5 - _ease(p)))),
    "pan_left": CameraSpec(lambda p, a: (PAN_WIDTHS * a * (_ease(p) - 0.5), 1.0)),
    "pan_right": CameraSpec(lambda p, a: (PAN_WIDTHS * a * (0.5 - _ease(p)), 1.0)),
}


def view_at(camera: Camera, t: float, duration_s: float, width: int) -> View:
    """The view ``t`` seconds into a scene of ``duration_s`` (held at its end through a transition)."""
    if camera.kind == "still":
        return STILL
    pan, zoom = CAMERAS[camera.kind].move(t / max(duration_s, 1e-6), camera.amount)
    return View(pan=pan * width, zoom=zoom)


def max_pan(camera: Camera, width: int) -> float:
    """The largest pan, in pixels either way, the camera reaches over its scene."""
    return PAN_WIDTHS * camera.amount * width / 2 if camera.kind in ("pan_left", "pan_right") else 0.0
