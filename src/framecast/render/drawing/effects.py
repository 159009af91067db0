"""Ambient effects: rain, snow, fog, leaves, fireflies, bubbles, sparks, stars, smoke and confetti.

Each kind is one entry of :data:`EFFECTS` (names: ``domain.timeline.EffectKind``). What an effect draws
is a pure function of time and its seed: positions are computed for every particle at once (numpy), and
particles are stamped with one fancy-indexed update per size class, so a shower of 200 raindrops costs
well under a millisecond a frame; the few larger things (leaves, smoke puffs) are sprites made once.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from framecast.domain.timeline import EffectKind, EffectLayer
from framecast.render.drawing.animation import anim_state
from framecast.render.drawing.artwork import raster
from framecast.render.drawing.camera import STILL, View
from framecast.render.drawing.color import F32, hex_rgb, rgb_to_yuv
from framecast.render.drawing.planes import Planes, Sprite, blend_sprite, sprite_from_rgba

TAU = 2 * math.pi
Floats = npt.NDArray[np.floating[Any]]


def _yuv(colour: str) -> tuple[float, float, float]:
    y, u, v = rgb_to_yuv((np.array([[hex_rgb(colour)]], np.float32) / 255).astype(np.float32))
    return float(y[0, 0]), float(u[0, 0]), float(v[0, 0])


class _Stamp:
    """A small alpha shape (even size) stamped at many places at once, pulling pixels toward a colour."""

    def __init__(self, alpha: F32, colour: str) -> None:
        h, w = alpha.shape
        self.h, self.w = h + h % 2, w + w % 2
        a = np.zeros((self.h, self.w), np.float32)
        a[:h, :w] = alpha
        oy, ox = np.mgrid[0 : self.h, 0 : self.w]
        keep = a.ravel() > 0.01
        self.oy, self.ox, self.a = oy.ravel()[keep], ox.ravel()[keep], a.ravel()[keep]
        half = a.reshape(self.h // 2, 2, self.w // 2, 2).mean(axis=(1, 3))
        hy, hx = np.mgrid[0 : self.h // 2, 0 : self.w // 2]
        keep2 = half.ravel() > 0.01
        self.hy, self.hx, self.ha = hy.ravel()[keep2], hx.ravel()[keep2], half.ravel()[keep2]
        self.colour = _yuv(colour)

    def draw(self, planes: Planes, xs: Floats, ys: Floats, strength: Floats) -> None:
        """Stamp centred at (xs, ys) (pixels) with per-stamp ``strength`` (0..1)."""
        if len(xs) == 0:
            return
        top = (ys - self.h / 2).astype(np.intp) // 2 * 2
        left = (xs - self.w / 2).astype(np.intp) // 2 * 2
        H, W = planes.y.shape
        inside = (top > -self.h) & (top < H) & (left > -self.w) & (left < W) & (strength > 0.004)
        if not inside.any():
            return
        top, left, strength = top[inside], left[inside], strength[inside]
        cy, cu, cv = self.colour
        rows = top[:, None] + self.oy[None, :]
        cols = left[:, None] + self.ox[None, :]
        ok = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
        a = (self.a[None, :] * strength[:, None])[ok]
        r, c = rows[ok], cols[ok]
        plane = planes.y
        base = plane[r, c].astype(np.float32)
        plane[r, c] = (base + (cy - base) * a + 0.5).astype(np.uint8)
        rows2 = top[:, None] // 2 + self.hy[None, :]
        cols2 = left[:, None] // 2 + self.hx[None, :]
        ok2 = (rows2 >= 0) & (rows2 < H // 2) & (cols2 >= 0) & (cols2 < W // 2)
        a2 = (self.ha[None, :] * strength[:, None])[ok2]
        r2, c2 = rows2[ok2], cols2[ok2]
        for chroma, target in ((planes.u, cu), (planes.v, cv)):
            base2 = chroma[r2, c2].astype(np.float32)
            chroma[r2, c2] = (base2 + (target - base2) * a2 + 0.5).astype(np.uint8)


def _disc(radius: float, softness: float = 0.5, ring: bool = False) -> F32:
    size = int(math.ceil(radius * 2)) + 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = np.hypot(xx - size / 2 + 0.5, yy - size / 2 + 0.5) / max(radius, 0.5)
    a = np.clip((1 - d) / max(softness, 1e-3), 0, 1)
    if ring:
        a = a * np.clip((d - 0.55) / 0.25, 0, 1) + 0.12 * a
    out: F32 = a.astype(np.float32)
    return out


def _streak(length: int, slant: float) -> F32:
    """A raindrop's streak: two pixels wide, brightest at its foot, leaning ``slant`` px per px."""
    width = int(abs(slant) * length) + 3
    a = np.zeros((length, width), np.float32)
    for k in range(length):
        x = int(round((width - 2) / 2 + slant * (k - length / 2)))
        a[k, max(0, x) : max(0, x) + 2] = 0.25 + 0.75 * k / max(1, length - 1)
    return a


@dataclass(frozen=True)
class EffectContext:
    """What an effect is prepared with: the layer, the frame size and its own random stream."""

    layer: EffectLayer
    width: int
    height: int
    rng: np.random.Generator

    @property
    def short(self) -> int:
        return min(self.width, self.height)

    def count(self, per_megapixel: float, least: int = 8) -> int:
        """How many particles: so many per megapixel at intensity 1, and a few even in a small frame."""
        return max(least, int(per_megapixel * self.width * self.height / 1e6 * self.layer.intensity))

    def colour(self, default: str) -> str:
        return self.layer.color or default


class _Effect(ABC):
    @abstractmethod
    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None: ...


class _Rain(_Effect):
    def __init__(self, ctx: EffectContext) -> None:
        n, rng, w, h = ctx.count(380), ctx.rng, ctx.width, ctx.height
        self.w, self.h = w, h
        self.slant = 0.18 * ctx.layer.wind + 0.06
        self.length = max(4, int(0.04 * h))
        self.stamp = _Stamp(_streak(self.length, self.slant), ctx.colour("#d2dde8"))
        self.x0 = rng.uniform(0, w, n).astype(np.float32)
        self.y0 = rng.uniform(0, h + self.length, n).astype(np.float32)
        self.v = (rng.uniform(0.9, 1.4, n) * h * max(0.1, ctx.layer.speed)).astype(np.float32)
        self.alpha = rng.uniform(0.35, 0.7, n).astype(np.float32)

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        fall = self.v * t
        ys = (self.y0 + fall) % (self.h + self.length) - self.length / 2
        xs = (self.x0 + self.slant * fall) % self.w
        self.stamp.draw(planes, xs, ys, self.alpha * strength)


class _Snow(_Effect):
    def __init__(self, ctx: EffectContext) -> None:
        rng, w, h, s = ctx.rng, ctx.width, ctx.height, ctx.short
        self.w, self.h = w, h
        self.wind = ctx.layer.wind * 0.06 * w
        colour = ctx.colour("#ffffff")
        self.layers = []
        for k, r in enumerate((0.003, 0.005, 0.008)):
            n = ctx.count(70 - 18 * k)
            stamp = _Stamp(_disc(max(1.0, r * s), 0.6), colour)
            speed = (0.07 + 0.05 * k) * h * max(0.1, ctx.layer.speed)
            self.layers.append(
                (
                    stamp,
                    rng.uniform(0, w, n).astype(np.float32),
                    rng.uniform(0, h, n).astype(np.float32),
                    (rng.uniform(0.7, 1.3, n) * speed).astype(np.float32),
                    rng.uniform(0, TAU, n).astype(np.float32),
                    float(0.012 * w * (1 + k)),
                )
            )

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        for stamp, x0, y0, v, phase, sway in self.layers:
            ys = (y0 + v * t) % (self.h + 20) - 10
            xs = (x0 + sway * np.sin(t * 0.9 + phase) + self.wind * t) % self.w
            stamp.draw(planes, xs, ys, np.full(len(xs), 0.9 * strength, np.float32))


class _Fog(_Effect):
    """Banks of mist drifting sideways over the lower part of the frame: one wide sprite, made once."""

    def __init__(self, ctx: EffectContext) -> None:
        w, h = ctx.width, ctx.height
        self.period = max(2, w // 2 // 2 * 2)
        band = max(4, int(h * 0.62) // 2 * 2)
        lw, lh = max(2, (w + self.period) // 8), max(2, band // 8)
        period_low = max(1, self.period // 8)
        xx = np.arange(lw, dtype=np.float32)[None, :] / period_low
        yy = np.arange(lh, dtype=np.float32)[:, None] / lh
        noise = np.zeros((lh, lw), np.float32)
        for k in range(4):
            f = k + 1
            ph = float(ctx.rng.uniform(0, TAU))
            noise += np.sin(TAU * f * xx + ph + 3 * yy * f).astype(np.float32) / f
        noise = 0.5 + 0.35 * noise
        rise = np.clip(yy / 0.45, 0, 1) ** 1.5  # thin at the top of the band, thick below
        alpha = np.clip(noise * rise, 0, 1) * min(0.85, 0.5 * ctx.layer.intensity)
        rgba = np.zeros((lh, lw, 4), np.uint8)
        rgba[..., :3] = hex_rgb(ctx.colour("#dfe6ec"))
        rgba[..., 3] = (alpha * 255).astype(np.uint8)
        img = Image.fromarray(rgba).resize((w + self.period, band), Image.Resampling.BICUBIC)
        self.sprite = sprite_from_rgba(np.asarray(img, dtype=np.uint8))
        self.top = h - band
        self.speed = 0.02 * w * max(0.05, ctx.layer.speed) * (1 if ctx.layer.wind >= 0 else -1)

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        offset = int(self.speed * t) % self.period
        blend_sprite(planes, self.sprite, -offset, self.top, strength)


class _Sprites(_Effect):
    """A few larger things (leaves, smoke puffs): sprites made once per variant, blended each frame."""

    def __init__(self, ctx: EffectContext) -> None:
        self.w, self.h = ctx.width, ctx.height
        self.variants: list[Sprite] = []

    def _blend(self, planes: Planes, k: int, x: float, y: float, opacity: float) -> None:
        sprite = self.variants[k]
        blend_sprite(planes, sprite, int(x) - sprite.width // 2, int(y) - sprite.height // 2, opacity)


class _Leaves(_Sprites):
    ANGLES = 8

    def __init__(self, ctx: EffectContext) -> None:
        super().__init__(ctx)
        rng = ctx.rng
        px = max(8, int(0.055 * ctx.short) // 2 * 2)
        for icon in ("fallen-leaf", "maple-leaf", "leaf-fluttering-in-wind"):
            img = Image.fromarray(np.array(raster(icon, px)))
            for a in range(self.ANGLES):
                turned = img.rotate(a * 360 / self.ANGLES, resample=Image.Resampling.BICUBIC, expand=True)
                self.variants.append(sprite_from_rgba(np.asarray(turned, dtype=np.uint8)))
        n = min(40, ctx.count(14))
        self.kind = rng.integers(0, 3, n)
        self.x0 = rng.uniform(0, 1, n)
        self.y0 = rng.uniform(0, 1, n)
        self.fall = rng.uniform(0.06, 0.12, n) * max(0.1, ctx.layer.speed)
        self.wind = (0.08 + 0.1 * ctx.layer.wind) * max(0.1, ctx.layer.speed)
        self.spin = rng.uniform(-1.5, 1.5, n)
        self.phase = rng.uniform(0, TAU, n)

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        ys = (self.y0 + self.fall * t) % 1.15 - 0.07
        xs = (self.x0 + self.wind * t + 0.03 * np.sin(t * 1.3 + self.phase)) % 1.15 - 0.07
        turns = ((self.spin * t + self.phase / TAU) * self.ANGLES).astype(int) % self.ANGLES
        for k in range(len(xs)):
            self._blend(
                planes,
                int(self.kind[k]) * self.ANGLES + int(turns[k]),
                xs[k] * self.w,
                ys[k] * self.h,
                strength,
            )


class _Smoke(_Sprites):
    STEPS = 8
    LIFE = 4.0

    def __init__(self, ctx: EffectContext) -> None:
        super().__init__(ctx)
        rng = ctx.rng
        base = max(6, int(0.05 * ctx.short))
        rgb = hex_rgb(ctx.colour("#c9cdd2"))
        for k in range(self.STEPS):
            r = int(base * (1 + 2.2 * k / (self.STEPS - 1)))
            a = _disc(r, 0.9)
            rgba = np.zeros((*a.shape, 4), np.uint8)
            rgba[..., :3] = rgb
            rgba[..., 3] = (a * 150).astype(np.uint8)
            self.variants.append(sprite_from_rgba(rgba))
        n = min(24, ctx.count(9))
        sources = rng.uniform(0.2, 0.8, max(1, n // 4))
        self.x0 = sources[rng.integers(0, len(sources), n)] + rng.uniform(-0.02, 0.02, n)
        self.phase = rng.uniform(0, self.LIFE, n)
        self.rise = 0.09 * max(0.1, ctx.layer.speed)
        self.wind = 0.03 * ctx.layer.wind + 0.01

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        for k in range(len(self.x0)):
            age = (t + self.phase[k]) % self.LIFE / self.LIFE
            x = (self.x0[k] + self.wind * age * self.LIFE + 0.015 * math.sin(age * 7 + k)) * self.w
            y = (0.86 - self.rise * age * self.LIFE) * self.h
            step = min(self.STEPS - 1, int(age * self.STEPS))
            self._blend(planes, step, x, y, strength * (1 - age) * min(1.0, age * 6))


class _Points(_Effect):
    """Glowing points that wander (fireflies), rise (bubbles) or twinkle (stars)."""

    def __init__(self, ctx: EffectContext, stamp: _Stamp, n: int, area: tuple[float, float]) -> None:
        rng = ctx.rng
        self.w, self.h = ctx.width, ctx.height
        self.stamp = stamp
        self.x0 = rng.uniform(0, 1, n).astype(np.float32)
        self.y0 = rng.uniform(*area, n).astype(np.float32)
        self.phase = rng.uniform(0, TAU, n).astype(np.float32)
        self.freq = rng.uniform(0.5, 1.6, n).astype(np.float32)
        self.speed = max(0.05, ctx.layer.speed)


class _Fireflies(_Points):
    """Glowing motes that drift upward and pulse: a bright core inside a wide soft halo."""

    def __init__(self, ctx: EffectContext) -> None:
        r = max(1.5, 0.008 * ctx.short)
        core = _Stamp(_disc(r, 0.8), "#fffbd0")
        super().__init__(ctx, core, min(90, ctx.count(26)), (0.3, 1.05))
        self.halo = _Stamp(_disc(r * 4.5, 1.0) ** 2 * 0.55, ctx.colour("#e9ff7a"))

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        s = self.speed
        xs = (self.x0 + 0.035 * np.sin(t * 0.5 * s * self.freq + self.phase)) * self.w
        ys = ((self.y0 - 0.03 * s * t + 0.03 * np.sin(t * 0.7 * self.freq + 2 * self.phase)) % 1.1) * self.h
        glow = ((0.55 + 0.45 * np.sin(t * 2.2 * self.freq + self.phase)) ** 2 * strength).astype(np.float32)
        self.halo.draw(planes, xs, ys, glow)
        self.stamp.draw(planes, xs, ys, glow)


class _Bubbles(_Points):
    def __init__(self, ctx: EffectContext) -> None:
        r = max(2.0, 0.018 * ctx.short)
        super().__init__(
            ctx, _Stamp(_disc(r, 0.35, ring=True), ctx.colour("#eaf6ff")), min(90, ctx.count(26)), (0.0, 1.0)
        )

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        xs = (self.x0 + 0.02 * np.sin(t * 2 * self.freq + self.phase)) * self.w
        ys = ((self.y0 - 0.13 * self.speed * self.freq * t) % 1.1 - 0.05) * self.h
        self.stamp.draw(planes, xs, ys, np.full(len(xs), 0.85 * strength, np.float32))


class _Stars(_Points):
    def __init__(self, ctx: EffectContext) -> None:
        a = np.array([[0, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 0]], np.float32)
        super().__init__(ctx, _Stamp(a, ctx.colour("#fffbe8")), min(400, ctx.count(110)), (0.0, 0.55))

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        xs = (self.x0 * self.w + view.shift(0.0)) % self.w
        ys = self.y0 * self.h
        tw = 0.45 + 0.55 * (0.5 + 0.5 * np.sin(t * 2.5 * self.freq * self.speed + self.phase))
        self.stamp.draw(planes, xs, ys, (tw * strength).astype(np.float32))


class _Sparks(_Effect):
    def __init__(self, ctx: EffectContext) -> None:
        rng, n = ctx.rng, min(240, ctx.count(90, least=24))
        self.w, self.h = ctx.width, ctx.height
        self.stamp = _Stamp(_disc(max(1.6, 0.005 * ctx.short), 0.6), ctx.colour("#ffc14d"))
        self.life = rng.uniform(0.7, 1.5, n).astype(np.float32)
        self.phase = rng.uniform(0, 1.5, n).astype(np.float32)
        self.x0 = rng.uniform(0.25, 0.75, n).astype(np.float32)
        self.vx = rng.uniform(-0.18, 0.18, n).astype(np.float32)
        self.vy = rng.uniform(0.45, 0.85, n).astype(np.float32) * max(0.1, ctx.layer.speed)
        self.wind = 0.05 * ctx.layer.wind

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        age = (t + self.phase) % self.life
        xs = (self.x0 + (self.vx + self.wind) * age) * self.w
        ys = (0.9 - self.vy * age + 0.45 * age * age) * self.h
        self.stamp.draw(planes, xs, ys, ((1 - age / self.life) * strength).astype(np.float32))


class _Confetti(_Effect):
    COLOURS = ("#ff4d6d", "#ffd166", "#06d6a0", "#118ab2", "#9b5de5", "#ff9f1c")

    def __init__(self, ctx: EffectContext) -> None:
        rng, w, h = ctx.rng, ctx.width, ctx.height
        self.w, self.h = w, h
        side = max(2, int(0.009 * ctx.short))
        colours = (ctx.layer.color,) if ctx.layer.color else self.COLOURS
        self.groups = []
        for colour in colours:
            n = min(60, ctx.count(90 / len(colours)))
            self.groups.append(
                (
                    _Stamp(np.ones((side, int(side * 1.6)), np.float32), colour),
                    rng.uniform(0, w, n).astype(np.float32),
                    rng.uniform(0, h, n).astype(np.float32),
                    (rng.uniform(0.1, 0.2, n) * h * max(0.1, ctx.layer.speed)).astype(np.float32),
                    rng.uniform(0, TAU, n).astype(np.float32),
                )
            )
        self.wind = 0.04 * w * ctx.layer.wind

    def draw(self, planes: Planes, t: float, strength: float, view: View) -> None:
        for stamp, x0, y0, v, phase in self.groups:
            ys = (y0 + v * t) % (self.h + 20) - 10
            xs = (x0 + 0.02 * self.w * np.sin(2 * t + phase) + self.wind * t) % self.w
            flutter = 0.55 + 0.45 * np.abs(np.cos(3 * t + phase))
            stamp.draw(planes, xs, ys, (flutter * strength).astype(np.float32))


@dataclass(frozen=True)
class EffectSpec:
    """How one effect kind is prepared (once per scene) into something that draws any instant;
    ``weather``: it is weather (words such as "storm" make it stronger, and a scene that names no weather
    keeps the one before); ``behind``: the planner puts it behind the subjects (the rest go in front)."""

    prepare: Callable[[EffectContext], _Effect]
    weather: bool = False
    behind: bool = False


#: Every effect kind, by the name a timeline gives it. A new effect is its name in ``EffectKind`` and an
#: entry here (tests/render check that the two agree).
EFFECTS: dict[EffectKind, EffectSpec] = {
    "rain": EffectSpec(_Rain, weather=True),
    "snow": EffectSpec(_Snow, weather=True),
    "fog": EffectSpec(_Fog, weather=True),
    "leaves": EffectSpec(_Leaves),
    "fireflies": EffectSpec(_Fireflies, behind=True),
    "bubbles": EffectSpec(_Bubbles),
    "sparks": EffectSpec(_Sparks),
    "stars": EffectSpec(_Stars, behind=True),
    "smoke": EffectSpec(_Smoke),
    "confetti": EffectSpec(_Confetti),
}


class EffectRenderer:
    """One effect layer of one scene, ready to draw at any scene time."""

    def __init__(
        self, layer: EffectLayer, width: int, height: int, scene_s: float, fps: int, seed: int
    ) -> None:
        self.layer = layer
        self.short = min(width, height)
        self.lead = 1.0 / fps
        self.start = layer.start_s
        self.end = layer.end_s if layer.end_s is not None else scene_s
        self.held = layer.end_s is None and layer.animate_out.kind == "none"
        ctx = EffectContext(layer, width, height, np.random.default_rng(seed))
        self.effect = EFFECTS[layer.kind].prepare(ctx)

    def draw(self, planes: Planes, t: float, fade: float = 1.0, view: View = STILL) -> None:
        layer = self.layer
        state = anim_state(
            layer.animate_in, layer.animate_out, t, self.start, self.end, self.held, self.short, self.lead
        )
        if state is None:
            return
        strength = state.opacity * layer.opacity * fade
        if strength > 0.002:
            self.effect.draw(planes, t - self.start, strength, view)

    def drop_animation_frames(self) -> None:
        """Effects keep nothing per frame."""
