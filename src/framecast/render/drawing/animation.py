"""Entrances and exits of layers (fade, slide, scale, typewriter), as a pure function of time.

>>> ease_out(0.5)
0.875
"""

from __future__ import annotations

from dataclasses import dataclass

from framecast.domain.timeline import Animation

REFERENCE_SHORT_SIDE = 1080
#: Memory for a layer's animation frames (typewriter steps, scale steps): a long 1080p text block makes
#: sprites of ~25 MB each, so the cache is bounded by bytes, not by count.
ANIMATION_CACHE_BYTES = 96 * 1024 * 1024
SAFE_MARGIN = 0.045  # of the short side: nothing is placed closer to the frame edge


def ease_out(p: float) -> float:
    """Cubic ease-out on 0..1: fast start, gentle landing."""
    p = min(1.0, max(0.0, p))
    return 1 - (1 - p) ** 3


@dataclass(frozen=True)
class AnimState:
    """Where a layer is at one instant: how opaque, how far moved, how large, how much text shows."""

    opacity: float = 1.0
    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0
    reveal: float = 1.0


def anim_state(
    anim_in: Animation,
    anim_out: Animation,
    t: float,
    start: float,
    end: float,
    held: bool,
    short: int,
    lead: float = 0.0,
) -> AnimState | None:
    """The state of a layer at scene time ``t`` (None when invisible).

    ``held``: the layer lasts to the scene end without an out animation, so it stays on through the
    outgoing transition (where ``t`` runs past the scene's end). ``lead`` (one frame) makes a layer
    already visible on its start frame, so a caption shows on the frame its words start.
    """
    if t < start - 1e-9 or (t > end + 1e-9 and not held):
        return None
    opacity, dx, dy, scale, reveal = 1.0, 0.0, 0.0, 1.0, 1.0
    dist = 0.08 * short
    for anim, p in (
        (anim_in, (t - start + lead) / anim_in.duration_s if anim_in.duration_s > 0 else 1.0),
        (anim_out, (end - t) / anim_out.duration_s if anim_out.duration_s > 0 else 1.0),
    ):
        if anim.kind == "none" or p >= 1.0:
            continue
        if held and anim is anim_out:
            continue
        e = ease_out(p)
        if anim.kind == "typewriter":
            reveal = min(reveal, max(0.0, p))
            continue
        opacity *= e
        if anim.kind == "slide_up":
            dy += (1 - e) * dist
        elif anim.kind == "slide_down":
            dy -= (1 - e) * dist
        elif anim.kind == "slide_left":
            dx += (1 - e) * dist
        elif anim.kind == "slide_right":
            dx -= (1 - e) * dist
        elif anim.kind == "scale":
            scale *= 0.75 + 0.25 * e
    if opacity <= 0.002:
        return None
    return AnimState(opacity, dx, dy, scale, reveal)
