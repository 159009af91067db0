"""Procedural backgrounds: gradient, flowing noise, particles, starfield, waves, bokeh (and solid, image).

Each kind is one entry of :data:`BACKGROUNDS`: what it paints once per scene, and whether the planner may
choose it.

Speed comes from doing the per-pixel work once per scene: each kind paints a *tileable* texture (twice the
frame in each direction) at quarter resolution, maps it through its palette, upscales it once, and each
frame is a wrapped crop of it at a position that moves with time (a copy, no arithmetic). Luma and chroma
move at different speeds for the "flowing" kinds, so colour drifts through the shapes. Sparse elements
(stars, particles, bokeh circles) are drawn per frame on top, positions a pure function of time and seed.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from framecast.domain.timeline import Background, BackgroundKind, Camera
from framecast.render.assets import AssetPath
from framecast.render.drawing.camera import STILL, View, max_pan
from framecast.render.drawing.color import F32, U8, palette_array, rgb_to_yuv, to_u8
from framecast.render.drawing.images import load_image_rgb
from framecast.render.drawing.planes import Planes, Sprite, blend_sprite, half_size, sprite_from_rgba
from framecast.render.drawing.settings import SKY_DRIFT, Setting
from framecast.render.drawing.skies import sky_low

_Bake = Callable[[F32, F32, F32], tuple[F32, F32, F32]]


class _Texture:
    """A tileable texture kept at low resolution and upscaled (bicubic) only around what frames look at.

    Frames are windows of the infinite tiling at integer offsets. The first window asked for builds the
    part of the upscaled tiling that covers it and everything up to ``reach`` pixels further along the
    motion; later windows inside that part are plain slices. Bicubic upscaling at an integer factor is
    translation-invariant once two source pixels of context surround the part, so the pixels are the same
    whichever part is built (a chunk of a scene and the whole scene agree, bit for bit); a chunk covering
    half a second of a scene upscales a little more than one frame instead of the whole 1.5 x 1.5 tile.
    """

    _CONTEXT = 2  # source pixels of context on each side (the bicubic kernel's reach)

    def __init__(self, low: F32, factor: int, wrap_y: bool = True) -> None:
        self.low = to_u8(low)
        self.factor = factor
        self.wrap_y = wrap_y
        self.part: U8 | None = None
        self.py = self.px = 0  # where ``part`` sits in the (unwrapped) upscaled tiling

    @property
    def shape(self) -> tuple[int, int]:
        """The size of one upscaled tile."""
        return self.low.shape[0] * self.factor, self.low.shape[1] * self.factor

    def crop(self, oy: int, ox: int, out: U8, reach: tuple[int, int] = (0, 0)) -> None:
        """Copy the ``out``-sized window at (oy, ox) of the tiling into ``out``."""
        h, w = out.shape
        part = self.part
        if part is None or not (
            self.py <= oy
            and oy + h <= self.py + part.shape[0]
            and self.px <= ox
            and ox + w <= self.px + part.shape[1]
        ):
            # At most one tile ahead: a long scene builds a new part every tile, not one huge part.
            th, tw = self.shape
            ry, rx = max(-th, min(th, reach[0])), max(-tw, min(tw, reach[1]))
            part = self._build(min(oy, oy + ry), min(ox, ox + rx), h + abs(ry), w + abs(rx))
        y, x = oy - self.py, ox - self.px
        np.copyto(out, part[y : y + h, x : x + w])

    def _build(self, top: int, left: int, height: int, width: int) -> U8:
        f, c = self.factor, self._CONTEXT
        ly0, lx0 = top // f, left // f
        ly1, lx1 = -(-(top + height) // f), -(-(left + width) // f)
        rows = np.arange(ly0 - c, ly1 + c)
        cols = np.arange(lx0 - c, lx1 + c)
        src = self.low.take(rows, axis=0, mode="wrap" if self.wrap_y else "clip").take(
            cols, axis=1, mode="wrap"
        )
        img = Image.fromarray(np.ascontiguousarray(src))
        big = img.resize((img.width * f, img.height * f), Image.Resampling.BICUBIC)
        box = (c * f, c * f, (lx1 - lx0 + c) * f, (ly1 - ly0 + c) * f)
        self.part = np.asarray(big.crop(box), dtype=np.uint8)
        self.py, self.px = ly0 * f, lx0 * f
        return self.part


def _periodic_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 3, base: int = 3) -> F32:
    """Tileable smooth noise in 0..1 on an (h, w) grid: sum of random integer-frequency waves."""
    yy = np.arange(h, dtype=np.float32)[:, None] / h
    xx = np.arange(w, dtype=np.float32)[None, :] / w
    acc = np.zeros((h, w), np.float32)
    amp_total = 0.0
    for octave in range(octaves):
        freq = base * (2**octave)
        amp = 1.0 / (1.6**octave)
        for _ in range(4):
            kx = int(rng.integers(-freq, freq + 1))
            ky = int(rng.integers(-freq, freq + 1))
            if kx == 0 and ky == 0:
                kx = 1
            phase = float(rng.uniform(0, 2 * math.pi))
            acc += amp * np.sin(2 * math.pi * (kx * xx + ky * yy) + phase).astype(np.float32)
            amp_total += amp
    acc /= amp_total * 0.6
    out: F32 = np.clip(0.5 + 0.5 * acc, 0.0, 1.0).astype(np.float32)
    return out


def _palette_lut(colours: list[str]) -> tuple[F32, F32, F32]:
    """A 256-entry Y/U/V lookup table running smoothly through the palette."""
    pal = palette_array(colours)
    if len(pal) == 1:
        pal = np.concatenate([pal, pal * 0.6])
    pos = np.linspace(0, len(pal) - 1, 256, dtype=np.float32)
    i = np.minimum(pos.astype(int), len(pal) - 2)
    f = (pos - i)[:, None]
    f = f * f * (3 - 2 * f)  # smoothstep between stops: no visible bands at the stops
    rgb = (pal[i] * (1 - f) + pal[i + 1] * f).astype(np.float32)
    y, u, v = rgb_to_yuv(rgb)
    return y, u, v


def _lookup(lut: F32, t: F32) -> F32:
    """``lut`` (256 entries) at ``t`` in 0..1, nearest entry (the table is fine enough to show no steps)."""
    idx = np.clip(t * 255 + 0.5, 0, 255).astype(np.intp)
    out: F32 = lut[idx]
    return out


class BackgroundRenderer:
    """Draws one scene's background into a frame for any time ``t`` (seconds from the scene start)."""

    def __init__(
        self,
        bg: Background,
        width: int,
        height: int,
        seed: int,
        asset_path: AssetPath | None = None,
        camera: Camera | None = None,
    ) -> None:
        self.bg = bg
        self.camera = camera or Camera()
        self.w, self.h = width, height
        self.rng = np.random.default_rng(seed)
        self.short = min(width, height)
        self.speed = bg.motion * 0.045 * self.short  # pixels per second at motion 1
        ang = math.radians(bg.angle)
        self.dir = (math.cos(ang), math.sin(ang))
        self.tex_y: U8 | None = None  # the image kind's pan texture
        self.tex_u: U8 | None = None
        self.tex_v: U8 | None = None
        self.tiles: tuple[_Texture, _Texture, _Texture] | None = None  # the procedural kinds' tiling
        #: Seconds into the scene up to which frames will be asked for (set by the frame source): how far
        #: ahead each built part of the tiling reaches.
        self.until_s = 4.0
        self.chroma_dir = self.dir
        self.chroma_speed = self.speed
        self._dots: _Dots | None = None
        self._solid: tuple[float, float, float] | None = None
        self._setting: Setting | None = None
        BACKGROUNDS[bg.kind].prepare(self, asset_path)

    # -- the kinds (see BACKGROUNDS): textures and overlays, made once per scene ------------------------

    def _prepare_gradient(self, asset_path: AssetPath | None) -> None:
        self._gradient_texture(dark=False)

    def _prepare_bokeh(self, asset_path: AssetPath | None) -> None:
        self._gradient_texture(dark=False, bake=self._bake_bokeh)
        self.speed *= 0.5
        self._dots = _Bokeh(self, self.rng)

    def _prepare_particles(self, asset_path: AssetPath | None) -> None:
        self._gradient_texture(dark=False)
        self._dots = _Particles(self, self.rng)

    def _prepare_starfield(self, asset_path: AssetPath | None) -> None:
        self._gradient_texture(dark=True)
        self.speed *= 0.25
        self._dots = _Stars(self, self.rng)

    def _prepare_noise(self, asset_path: AssetPath | None) -> None:
        lh, lw = self._low_shape()
        a = _periodic_noise(self.rng, lh, lw, octaves=3, base=2)
        b = _periodic_noise(self.rng, lh, lw, octaves=2, base=1)
        shade = (0.7 + 0.5 * a).astype(np.float32)
        self._set_texture(np.clip(0.6 * a + 0.4 * b, 0, 1).astype(np.float32), b, shade)
        # Colour flows at an angle to the shapes: the picture seems to churn, not slide.
        c = math.radians(self.bg.angle + 110)
        self.chroma_dir = (math.cos(c), math.sin(c))
        self.chroma_speed = self.speed * 0.7

    def _prepare_waves(self, asset_path: AssetPath | None) -> None:
        # One frame tall (waves only drift sideways), tileable across.
        lh, lw = max(2, -(-self.h // 4)), self._low_shape()[1]
        yy = np.arange(lh, dtype=np.float32)[:, None] / lh
        xx = np.arange(lw, dtype=np.float32)[None, :] / lw
        n_bands = max(3, int(round(5 * self.bg.density)))
        field = np.zeros((lh, lw), np.float32)
        for k in range(n_bands):
            # Band edges are sine curves with integer frequencies so the texture tiles horizontally.
            base = (k + 1) / (n_bands + 1)
            f1, f2 = int(self.rng.integers(1, 3)), int(self.rng.integers(2, 5))
            p1, p2 = self.rng.uniform(0, 2 * math.pi, 2)
            edge = (
                base + 0.05 * np.sin(2 * math.pi * f1 * xx + p1) + 0.02 * np.sin(2 * math.pi * f2 * xx + p2)
            )
            d = yy
            soft = 0.012
            field += 1.0 / (1.0 + np.exp(-(d - edge) / soft))
        t = (field / n_bands).astype(np.float32)
        shade = (0.78 + 0.22 * (1 - np.abs(np.sin(math.pi * field)))).astype(np.float32)
        self._set_texture(t, t, shade, wrap_y=False)
        self.dir = (1.0 if self.dir[0] >= 0 else -1.0, 0.0)
        self.chroma_dir = self.dir  # waves tile only sideways: colour drifts with them

    def _prepare_image(self, asset_path: AssetPath | None) -> None:
        assert self.bg.asset_id is not None
        rgb = load_image_rgb(self.bg.asset_id, asset_path)
        # Cover the frame with 12 % to spare, then pan across the spare (a slow Ken Burns drift).
        ew, eh = int(self.w * 1.12) // 2 * 2, int(self.h * 1.12) // 2 * 2
        img = Image.fromarray(rgb)
        scale = max(ew / img.width, eh / img.height)
        img = img.resize((max(ew, round(img.width * scale)), max(eh, round(img.height * scale))))
        left, top = (img.width - ew) // 2, (img.height - eh) // 2
        img = img.crop((left, top, left + ew, top + eh))
        f = np.asarray(img, dtype=np.float32) / 255.0
        y, u, v = rgb_to_yuv(f)
        self.tex_y = to_u8(y)
        self.tex_u = to_u8(half_size(u))
        self.tex_v = to_u8(half_size(v))

    def _prepare_solid(self, asset_path: AssetPath | None) -> None:
        y, u, v = rgb_to_yuv(palette_array(self.bg.palette[:1]))
        self._solid = (float(y[0]), float(u[0]), float(v[0]))

    def _prepare_setting(self, asset_path: AssetPath | None) -> None:
        """A place under a sky (``settings``): the sky as a half-resolution tiling, the bands as sprites."""
        kind = self.bg.kind
        lh, lw = max(2, self.h // 2), max(2, (3 * self.w) // 4)
        rgb = sky_low(self.bg, kind, lh, lw, self.rng).astype(np.float32) / 255.0
        y, u, v = rgb_to_yuv(rgb)
        self.tiles = (
            _Texture(y, 2, wrap_y=False),
            _Texture(u, 1, wrap_y=False),
            _Texture(v, 1, wrap_y=False),
        )
        self.speed = SKY_DRIFT * self.w if kind not in ("room",) else 0.0
        self.dir = (1.0, 0.0)
        reach = max_pan(self.camera, self.w)
        self._setting = Setting(self.bg, kind, self.w, self.h, reach, self.rng)

    # -- helpers of the procedural kinds -----------------------------------------------------------------

    def _set_texture(
        self, t_luma: F32, t_chroma: F32, shade: F32 | None, wrap_y: bool = True, bake: _Bake | None = None
    ) -> None:
        """Map two low-res fields through the palette and upscale: luma x4, chroma x2 (half-size planes).

        ``bake`` paints into the mapped low-res planes before they are upscaled (bokeh's far discs).
        """
        lut = _palette_lut(self.bg.palette)
        y = _lookup(lut[0], t_luma)
        if shade is not None:
            y = 16 + (y - 16) * shade
        u, v = _lookup(lut[1], t_chroma), _lookup(lut[2], t_chroma)
        if bake is not None:
            y, u, v = bake(y, u, v)
        self.tiles = (_Texture(y, 4, wrap_y), _Texture(u, 2, wrap_y), _Texture(v, 2, wrap_y))

    def _bake_bokeh(self, y: F32, u: F32, v: F32) -> tuple[F32, F32, F32]:
        """Paint the far bokeh discs into the (tileable) texture: they drift with it and cost nothing per frame."""
        lh, lw = y.shape
        yy = np.arange(lh, dtype=np.float32)[:, None]
        xx = np.arange(lw, dtype=np.float32)[None, :]
        pal = palette_array(self.bg.palette)
        n = int(44 * self.bg.density)  # over a texture four frames in area
        short = min(lh, lw) / 2  # the texture is twice the frame
        for _ in range(n):
            cx, cy = float(self.rng.uniform(0, lw)), float(self.rng.uniform(0, lh))
            r = short * float(self.rng.uniform(0.03, 0.09))
            dx = np.abs(xx - cx)
            dy = np.abs(yy - cy)
            dx = np.minimum(dx, lw - dx)  # periodic distance: the texture tiles
            dy = np.minimum(dy, lh - dy)
            d = np.sqrt(dx * dx + dy * dy) / r
            a = (np.clip((1 - d) / 0.3, 0, 1) * float(self.rng.uniform(0.18, 0.42))).astype(np.float32)
            c = pal[int(self.rng.integers(0, len(pal)))] * 0.5 + 0.5
            cy_, cu, cv = rgb_to_yuv(c[None, None, :].astype(np.float32))
            y = y + (float(cy_[0, 0]) - y) * a
            u = u + (float(cu[0, 0]) - u) * a
            v = v + (float(cv[0, 0]) - v) * a
        return y.astype(np.float32), u.astype(np.float32), v.astype(np.float32)

    def _low_shape(self) -> tuple[int, int]:
        # Period = 1.5 frames each way (room to drift without visible repeats); painted at quarter resolution.
        return max(2, (3 * self.h) // 8), max(2, (3 * self.w) // 8)

    def _gradient_texture(self, dark: bool, bake: _Bake | None = None) -> None:
        lh, lw = self._low_shape()
        yy = np.arange(lh, dtype=np.float32)[:, None] / lh
        xx = np.arange(lw, dtype=np.float32)[None, :] / lw
        ang = math.radians(self.bg.angle)
        kx, ky = round(math.cos(ang) * 1.4), round(math.sin(ang) * 1.4)
        if kx == 0 and ky == 0:
            kx = 1
        s = kx * xx + ky * yy
        warp = _periodic_noise(self.rng, lh, lw, octaves=2, base=1) - 0.5
        t: F32 = (0.5 - 0.5 * np.cos(2 * math.pi * (s + 0.35 * warp))).astype(np.float32)
        shade = None
        if dark:
            shade = (0.55 + 0.45 * t).astype(np.float32)
        self._set_texture(t, t, shade, bake=bake)

    # -- per frame ------------------------------------------------------------------------------------

    def render(self, planes: Planes, t: float, view: View = STILL) -> None:
        if self._setting is not None:
            self._render_setting(planes, t, view)
            return
        if self._solid is not None:
            planes.fill(*self._solid)
        elif self.tiles is not None:
            ty, tu, tv = self.tiles
            ahead = max(0.0, self.until_s - t)
            d, da = self.speed * t, self.speed * ahead
            oy, ox = round(d * self.dir[1]), round(d * self.dir[0])
            ty.crop(oy, ox, planes.y, (round(da * self.dir[1]), round(da * self.dir[0])))
            dc, dca = self.chroma_speed * t / 2, self.chroma_speed * ahead / 2
            cy, cx = round(dc * self.chroma_dir[1]), round(dc * self.chroma_dir[0])
            reach = (round(dca * self.chroma_dir[1]), round(dca * self.chroma_dir[0]))
            tu.crop(cy, cx, planes.u, reach)
            tv.crop(cy, cx, planes.v, reach)
        elif self.tex_y is not None and self.tex_u is not None and self.tex_v is not None:
            sx = (self.tex_y.shape[1] - self.w) / 2
            sy = (self.tex_y.shape[0] - self.h) / 2
            ph = 0.15 * self.bg.motion * t
            oy, ox = round(sy * (1 - math.cos(ph))), round(sx * (1 - math.cos(ph * 0.8)))
            oy, ox = min(oy, 2 * int(sy)), min(ox, 2 * int(sx))
            planes.y[:] = self.tex_y[oy : oy + self.h, ox : ox + self.w]
            planes.u[:] = self.tex_u[oy // 2 : oy // 2 + self.h // 2, ox // 2 : ox // 2 + self.w // 2]
            planes.v[:] = self.tex_v[oy // 2 : oy // 2 + self.h // 2, ox // 2 : ox // 2 + self.w // 2]
        if self._dots is not None:
            self._dots.draw(planes, t)

    def _render_setting(self, planes: Planes, t: float, view: View) -> None:
        assert self.tiles is not None and self._setting is not None
        ty, tu, tv = self.tiles
        ox = int(round(self.speed * t - view.shift(0.0))) // 2 * 2
        ahead = int(self.speed * max(0.0, self.until_s - t)) // 2 * 2
        ty.crop(0, ox, planes.y, (0, ahead))
        tu.crop(0, ox // 2, planes.u, (0, ahead // 2))
        tv.crop(0, ox // 2, planes.v, (0, ahead // 2))
        self._setting.draw(planes, t, view)


class _Dots(ABC):
    """Moving points drawn over a background texture (stars, particles, bokeh)."""

    @abstractmethod
    def draw(self, planes: Planes, t: float) -> None: ...


class _Stars(_Dots):
    """Parallax stars: far ones small and slow, near ones bright, larger and faster; all twinkle."""

    def __init__(self, bg: BackgroundRenderer, rng: np.random.Generator) -> None:
        self.w, self.h = bg.w, bg.h
        n = int(bg.w * bg.h / 1800 * bg.bg.density)
        self.x = rng.uniform(0, bg.w, n).astype(np.float32)
        self.y = rng.uniform(0, bg.h, n).astype(np.float32)
        self.z = (rng.uniform(0, 1, n) ** 2).astype(np.float32)  # 0 far .. 1 near
        self.phase = rng.uniform(0, 2 * math.pi, n).astype(np.float32)
        self.freq = rng.uniform(0.5, 3.0, n).astype(np.float32)
        self.v = bg.bg.motion * 0.06 * bg.short
        self.dir = bg.dir
        self.near = self.z > 0.6

    def draw(self, planes: Planes, t: float) -> None:
        move = self.v * t * (0.15 + self.z)
        xs = ((self.x + move * self.dir[0]) % (self.w - 2)).astype(np.intp)
        ys = ((self.y + move * self.dir[1]) % (self.h - 2)).astype(np.intp)
        tw = 0.65 + 0.35 * np.sin(self.freq * t * 2 * math.pi + self.phase)
        lum = (60 + 175 * (0.35 + 0.65 * self.z) * tw).astype(np.float32)
        y = planes.y
        y[ys, xs] = np.maximum(y[ys, xs], lum.astype(np.uint8))
        n = self.near
        if n.any():
            xn, yn, ln = xs[n], ys[n], (lum[n] * 0.8).astype(np.uint8)
            for dy, dx in ((0, 1), (1, 0), (1, 1)):
                y[yn + dy, xn + dx] = np.maximum(y[yn + dy, xn + dx], ln)


def _soft_disc(radius: int, rgb: tuple[int, int, int], hardness: float, alpha: float) -> Sprite:
    size = 2 * radius + 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = np.hypot(xx - size / 2 + 0.5, yy - size / 2 + 0.5) / max(radius, 1)
    a = np.clip((1 - d) / max(1e-3, 1 - hardness), 0, 1) ** 1.5 * alpha
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = np.clip(a * 255, 0, 255).astype(np.uint8)
    return sprite_from_rgba(rgba)


class _Particles(_Dots):
    """Glowing motes rising and swaying; drawn as additive luma stamps, all of a size class at once."""

    def __init__(self, bg: BackgroundRenderer, rng: np.random.Generator) -> None:
        self.w, self.h = bg.w, bg.h
        n = int(42 * bg.bg.density)
        self.stamps: list[U8] = []
        for i in range(3):
            r = max(2, int(bg.short * (0.007 + 0.008 * i)))
            size = 2 * r + 1
            yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
            d = np.hypot(xx - r, yy - r) / r
            glow = np.clip(1.15 - 1.15 * d, 0, 1) ** 1.8 * (200 - 45 * i)
            self.stamps.append(glow.astype(np.uint8))
        self.kind = rng.integers(0, 3, n)
        self.x = rng.uniform(0, 1, n)
        self.y = rng.uniform(0, 1, n)
        self.v = rng.uniform(0.04, 0.12, n) * max(0.2, bg.bg.motion)
        self.sway = rng.uniform(0.005, 0.03, n)
        self.phase = rng.uniform(0, 2 * math.pi, n)
        self.blink = rng.uniform(0.3, 1.2, n)
        self.offsets = []
        for stamp in self.stamps:
            s = stamp.shape[0]
            oy, ox = np.mgrid[0:s, 0:s]
            self.offsets.append((oy.ravel(), ox.ravel(), stamp.ravel().astype(np.float32)))

    def draw(self, planes: Planes, t: float) -> None:
        ys = (self.y - self.v * t) % 1.1 - 0.05
        xs = self.x + self.sway * np.sin(t * 0.9 + self.phase)
        op = 0.55 + 0.45 * np.sin(t * self.blink * 2 + self.phase)
        plane = planes.y
        for k, (oy, ox, glow) in enumerate(self.offsets):
            sel = self.kind == k
            if not sel.any():
                continue
            s = self.stamps[k].shape[0]
            top = (ys[sel] * self.h).astype(np.intp) - s // 2
            left = (xs[sel] * self.w).astype(np.intp) - s // 2
            rows = np.clip(top[:, None] + oy[None, :], 0, self.h - 1)
            cols = np.clip(left[:, None] + ox[None, :], 0, self.w - 1)
            add = glow[None, :] * op[sel][:, None]
            # Overlapping motes take the brighter value, not the sum: cheaper, and it never blows out.
            plane[rows, cols] = np.minimum(plane[rows, cols] + add, 235).astype(np.uint8)


class _Bokeh(_Dots):
    """Large soft out-of-focus discs drifting slowly and breathing in brightness."""

    def __init__(self, bg: BackgroundRenderer, rng: np.random.Generator) -> None:
        self.w, self.h = bg.w, bg.h
        n = int(4 * bg.bg.density)  # the near ones; the far ones are painted into the texture
        self.items: list[tuple[Sprite, float, float, float, float, float]] = []
        for _ in range(n):
            r = int(bg.short * rng.uniform(0.04, 0.12))
            c = bg.bg.palette[int(rng.integers(0, len(bg.bg.palette)))]
            rgb = tuple(min(255, int(int(c[j : j + 2], 16) * 0.6 + 110)) for j in (1, 3, 5))
            sprite = _soft_disc(r, (rgb[0], rgb[1], rgb[2]), 0.75, float(rng.uniform(0.18, 0.4)))
            self.items.append(
                (
                    sprite,
                    float(rng.uniform(0, 1)),
                    float(rng.uniform(0, 1)),
                    float(rng.uniform(-0.02, 0.02) * bg.bg.motion),
                    float(rng.uniform(-0.015, 0.01) * bg.bg.motion),
                    float(rng.uniform(0, 2 * math.pi)),
                )
            )

    def draw(self, planes: Planes, t: float) -> None:
        for sprite, x0, y0, vx, vy, ph in self.items:
            x = ((x0 + vx * t) % 1.2 - 0.1) * self.w
            y = ((y0 + vy * t) % 1.2 - 0.1) * self.h
            op = 0.7 + 0.3 * math.sin(t * 0.7 + ph)
            blend_sprite(planes, sprite, int(x) - sprite.width // 2, int(y) - sprite.height // 2, op)


@dataclass(frozen=True)
class BackgroundKindSpec:
    """How one background kind is drawn, and whether the planner may choose it.

    ``prepare`` paints the scene's texture and sets up its moving overlay, once per scene (frames are then
    crops and sprite stamps, see the module docstring). ``planner_alternative``: the planner may switch a
    scene to this kind so that two neighbouring scenes do not look alike.
    """

    prepare: Callable[[BackgroundRenderer, AssetPath | None], None]
    planner_alternative: bool = False


#: Every background kind, by the name a timeline gives it. Adding a kind is one entry here (and its name
#: in ``domain.timeline.BackgroundKind``, the table the JSON Schema and validation read; domain code
#: cannot import this numpy module). The order of the planner's alternatives is part of what a seed
#: plans: reordering them changes planned videos (tests/render/test_planner_fixture.py notices).
BACKGROUNDS: dict[BackgroundKind, BackgroundKindSpec] = {
    "gradient": BackgroundKindSpec(BackgroundRenderer._prepare_gradient, planner_alternative=True),
    "noise": BackgroundKindSpec(BackgroundRenderer._prepare_noise, planner_alternative=True),
    "bokeh": BackgroundKindSpec(BackgroundRenderer._prepare_bokeh, planner_alternative=True),
    "waves": BackgroundKindSpec(BackgroundRenderer._prepare_waves, planner_alternative=True),
    "particles": BackgroundKindSpec(BackgroundRenderer._prepare_particles, planner_alternative=True),
    "starfield": BackgroundKindSpec(BackgroundRenderer._prepare_starfield),
    "solid": BackgroundKindSpec(BackgroundRenderer._prepare_solid),
    "image": BackgroundKindSpec(BackgroundRenderer._prepare_image),
    # Settings (drawing/settings.py paints each): chosen by the planner from the words, never at random.
    "sea": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "lake": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "beach": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "city": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "forest": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "desert": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "mountains": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "meadow": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "snowfield": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "space": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
    "room": BackgroundKindSpec(BackgroundRenderer._prepare_setting),
}


def planner_alternatives() -> list[BackgroundKind]:
    """The kinds the planner may switch a scene to, in the registry's order."""
    return [kind for kind, spec in BACKGROUNDS.items() if spec.planner_alternative]
