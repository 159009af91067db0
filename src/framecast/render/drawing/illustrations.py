"""Illustration layers: a subject of the set, moved by its motion and the camera, blended as a sprite.

Per scene, the subject is rasterised from its vector art at the largest size it takes in the scene
(``artwork.raster``, shared by the process) and made a premultiplied YUVA sprite. Per frame only a pose
is computed (``motion.MOTIONS``) and the sprite blended at an offset; a size or angle the frame needs and
the sprite does not have (a push-in, a bloom, a spin) is made by downscaling or rotating that raster, once
per quantised step, cached for the layer and bounded by bytes.
"""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image, ImageFilter

from framecast.domain.timeline import IllustrationLayer
from framecast.render.drawing.animation import ANIMATION_CACHE_BYTES, anim_state
from framecast.render.drawing.artwork import raster
from framecast.render.drawing.camera import STILL, View
from framecast.render.drawing.motion import MOTIONS, Moving, Pose
from framecast.render.drawing.planes import Planes, Sprite, blend_sprite, sprite_from_rgba
from framecast.render.words.subjects import subject_index

log = logging.getLogger(__name__)
_WARNED: set[str] = set()

Box = tuple[int, int, int, int]


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


class IllustrationRenderer:
    """One illustration layer of one scene, ready to draw at any scene time."""

    def __init__(self, layer: IllustrationLayer, width: int, height: int, scene_s: float, fps: int) -> None:
        self.layer = layer
        self.w, self.h = width, height
        self.short = min(width, height)
        self.lead = 1.0 / fps
        self.start = layer.start_s
        self.end = layer.end_s if layer.end_s is not None else scene_s
        self.held = layer.end_s is None and layer.animate_out.kind == "none"
        self.life = max(1e-3, self.end - self.start)
        self.spec = MOTIONS[layer.motion.kind]
        going = layer.motion.direction or ("right" if layer.flip else "left")
        self.direction = 1 if going == "right" else -1
        # The set's subjects face left: one that moves sideways faces the way it goes.
        self.mirrored = self.direction > 0 if self.spec.across else layer.flip
        self.base_px = layer.scale * self.short
        self.icon: str | None = None
        subject = subject_index().lookup(layer.subject)
        if subject is None:
            if layer.subject not in _WARNED:
                _WARNED.add(layer.subject)
                log.warning("the illustration set has no subject %r; the layer draws nothing", layer.subject)
            return
        self.icon = subject.icon
        self._cache: dict[tuple[int, int], Sprite] = {}
        self._cache_bytes = 0
        self._quantum = 6 if layer.motion.kind in ("spin", "roll") else 2
        # Drawn at its own size from the vector art; other sizes are downscaled from the largest it takes.
        self.px = _even(self.base_px)
        self.master_px = max(self.px, _even(self.base_px * self._largest_scale()))
        self._own = self._image(self.px)
        self._master = self._image(self.master_px) if self.master_px != self.px else self._own
        self.sprite = sprite_from_rgba(np.asarray(self._own, dtype=np.uint8))
        self._halo = self._make_halo() if self.spec.halo else None

    # -- geometry -------------------------------------------------------------------------------------

    def _moving(self, t: float) -> Moving:
        return Moving(
            t=max(0.0, t - self.start),
            life=self.life,
            width=self.w,
            height=self.h,
            box=self.base_px,
            speed=self.layer.motion.speed,
            direction=self.direction,
        )

    def pose(self, t: float) -> Pose:
        return self.spec.pose(self._moving(t))

    def _largest_scale(self) -> float:
        """The largest the subject gets in the scene (its motion's scale, an entrance, a push-in)."""
        steps = 48
        biggest = max(self.pose(self.start + self.life * k / steps).scale for k in range(steps + 1))
        return biggest * 1.06  # a push-in (at most 5 % at amount 1) and rounding

    def place(self, t: float, view: View = STILL) -> tuple[float, float, int, float, float] | None:
        """Centre (x, y), size, angle and opacity at scene time ``t``; None when it is not shown."""
        if self.icon is None:
            return None
        layer = self.layer
        state = anim_state(
            layer.animate_in, layer.animate_out, t, self.start, self.end, self.held, self.short, self.lead
        )
        if state is None:
            return None
        pose = self.pose(t)
        zoom = view.scale(layer.depth)
        cx = layer.x * self.w + pose.dx + state.dx
        cy = layer.y * self.h + pose.dy + state.dy
        ox, oy = view.centre[0] * self.w, view.centre[1] * self.h
        cx = ox + (cx - ox) * zoom + view.shift(layer.depth)
        cy = oy + (cy - oy) * zoom
        px = _even(self.base_px * pose.scale * state.scale * zoom)
        return cx, cy, px, pose.angle, pose.opacity * state.opacity * layer.opacity

    def box_at(self, t: float, view: View = STILL) -> Box | None:
        """The square the subject fills at scene time ``t`` (x0, y0, x1, y1 in pixels), unrotated."""
        placed = self.place(t, view)
        if placed is None:
            return None
        cx, cy, px, _, _ = placed
        return int(cx - px / 2), int(cy - px / 2), int(cx + px / 2), int(cy + px / 2)

    # -- sprites --------------------------------------------------------------------------------------

    def _image(self, px: int) -> Image.Image:
        assert self.icon is not None
        rgba = raster(self.icon, px)
        return Image.fromarray(np.ascontiguousarray(rgba[:, ::-1]) if self.mirrored else np.array(rgba))

    def _make(self, px: int, angle_q: int) -> Sprite:
        if px == self.px:
            img = self._own
        elif px == self.master_px:
            img = self._master
        else:
            img = self._master.resize((px, px), Image.Resampling.LANCZOS)
        if angle_q:
            img = img.rotate(angle_q, resample=Image.Resampling.BICUBIC, expand=True)
        return sprite_from_rgba(np.asarray(img, dtype=np.uint8))

    def _make_halo(self) -> Sprite:
        """A soft warm glow around the subject, a third larger than it."""
        px = _even(self.base_px * 1.5)
        alpha = self._own.getchannel("A")
        pad = Image.new("L", (px, px), 0)
        pad.paste(alpha, ((px - alpha.width) // 2, (px - alpha.height) // 2))
        glow = pad.filter(ImageFilter.GaussianBlur(max(2.0, self.base_px * 0.12)))
        rgba = np.zeros((px, px, 4), np.uint8)
        rgba[..., 0], rgba[..., 1], rgba[..., 2] = 255, 236, 170
        rgba[..., 3] = (np.asarray(glow, dtype=np.float32) * 0.55).astype(np.uint8)
        return sprite_from_rgba(rgba)

    def _sprite_for(self, px: int, angle: float) -> Sprite:
        q = self._quantum
        angle_q = int(round(angle / q)) * q % 360
        if angle_q == 0 and px == self.px:
            return self.sprite
        key = (px, angle_q)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._make(min(px, self.master_px), angle_q)
            if self._cache_bytes + cached.nbytes > ANIMATION_CACHE_BYTES:
                self.drop_animation_frames()
            self._cache[key] = cached
            self._cache_bytes += cached.nbytes
        return cached

    def drop_animation_frames(self) -> None:
        """Forget the sizes and angles made while drawing (made again on demand); the sprite stays."""
        if self.icon is not None:
            self._cache.clear()
            self._cache_bytes = 0

    def draw(self, planes: Planes, t: float, fade: float = 1.0, view: View = STILL) -> None:
        placed = self.place(t, view)
        if placed is None:
            return
        cx, cy, px, angle, opacity = placed
        opacity *= fade
        if opacity <= 0.002:
            return
        if self._halo is not None:
            h = self._halo
            blend_sprite(planes, h, int(round(cx - h.width / 2)), int(round(cy - h.height / 2)), opacity)
        sprite = self._sprite_for(px, angle)
        x = int(round(cx - sprite.width / 2))
        y = int(round(cy - sprite.height / 2))
        blend_sprite(planes, sprite, x, y, opacity)
