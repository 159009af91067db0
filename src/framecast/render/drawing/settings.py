"""Settings: a place under a sky (sea, lake, beach, city, forest, desert, mountains, meadow, snowfield, space,
room), in three depth layers the camera moves at different speeds.

* the **sky** (or a room's wall): a vertical gradient by time of day, cloud cover and a sun or moon,
  painted at half resolution as a tileable texture that drifts slowly (``backgrounds._Texture``: frames
  are crops, only the part a scene shows is upscaled);
* the **far band** (skyline, tree line, dunes, ranges, a window): a sprite wider than the frame by the
  camera's reach, blended at the far layer's offset;
* the **near band** (street, sea, sand, grass, floor), from the horizon down: the rows that are opaque
  everywhere are copied, only its ragged top edge is blended.

Everything is painted once per scene, flat colours in the manner of the illustration set, with a few of
the set's own subjects as props (pines, a cactus, a palm), lit by the time of day. Per frame: one crop,
one band blend and one copy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from framecast.domain.timeline import Background, BackgroundKind, TimeOfDay
from framecast.render.drawing.artwork import raster
from framecast.render.drawing.camera import View
from framecast.render.drawing.color import U8, hex_rgb, rgb_to_yuv, to_u8
from framecast.render.drawing.planes import Planes, Sprite, blend_sprite, half_size, sprite_from_rgba
from framecast.render.drawing.skies import HORIZON, RGB, SKIES, mix

FAR_PARALLAX = 0.4  # the far band's share of a pan (the ground's is 1)
SKY_DRIFT = 0.006  # frame widths per second the clouds drift

_LIGHT: dict[TimeOfDay, tuple[float, RGB, float]] = {  # brightness, tint, how much tint
    "dawn": (0.88, (255, 170, 190), 0.12),
    "day": (1.0, (255, 255, 255), 0.0),
    "sunset": (0.78, (255, 140, 80), 0.18),
    "night": (0.34, (60, 80, 160), 0.22),
}


@dataclass(frozen=True)
class Light:
    """How the time of day and the clouds light the ground: ``lit("#4e8a3e")`` is that green tonight."""

    time: TimeOfDay
    clouds: float

    def lit(self, colour: str | RGB) -> RGB:
        rgb = hex_rgb(colour) if isinstance(colour, str) else colour
        bright, tint, amount = _LIGHT[self.time]
        grey = sum(rgb) / 3
        rgb = mix(rgb, (int(grey),) * 3, 0.35 * self.clouds)  # clouds wash colour out
        rgb = tuple(min(255, int(c * bright * (1 - 0.15 * self.clouds))) for c in rgb)  # type: ignore[assignment]
        return mix(rgb, tint, amount)

    def lit_image(self, rgba: U8) -> U8:
        """An RGBA prop lit like the ground (props darken at night)."""
        bright, tint, amount = _LIGHT[self.time]
        rgb = rgba[..., :3].astype(np.float32) * bright * (1 - 0.15 * self.clouds)
        rgb = rgb + (np.array(tint, np.float32) - rgb) * amount
        out = rgba.copy()
        out[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
        return out


class Canvas:
    """An RGBA band painted at twice its size (edges come out anti-aliased) in the band's own pixels."""

    SS = 2

    def __init__(self, width: int, height: int, headroom: int = 0) -> None:
        """``headroom``: transparent rows above the band's top (y = 0) where its props may reach."""
        self.width, self.height = width, height
        self.headroom = headroom + headroom % 2
        self.image = Image.new("RGBA", (width * self.SS, (height + self.headroom) * self.SS), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image, "RGBA")  # translucent strokes blend, not punch holes
        self.props: list[tuple[U8, int, int]] = []

    def _xy(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * self.SS, (y + self.headroom) * self.SS) for x, y in points]

    def polygon(self, points: list[tuple[float, float]], fill: RGB, alpha: int = 255) -> None:
        self.draw.polygon(self._xy(points), fill=(*fill, alpha))

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: RGB, alpha: int = 255) -> None:
        self.draw.rectangle(self._xy([(x0, y0), (x1, y1)]), fill=(*fill, alpha))

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, fill: RGB, alpha: int = 255) -> None:
        self.draw.ellipse(self._xy([(x0, y0), (x1, y1)]), fill=(*fill, alpha))

    def prop(self, rgba: U8, cx: float, bottom: float) -> None:
        """Paste an illustration (already lit) with its bottom centre at (cx, bottom), after painting."""
        self.props.append((rgba, int(cx - rgba.shape[1] / 2), int(bottom - rgba.shape[0]) + self.headroom))

    def finish(self) -> U8:
        img = self.image.reduce(self.SS)
        for rgba, x, y in self.props:
            prop = Image.fromarray(rgba)
            img.paste(prop, (x, y), prop)
        return np.asarray(img, dtype=np.uint8)


def _ridge(
    rng: np.random.Generator, width: int, base: float, height: float, bumps: int, sharp: bool = False
) -> list[tuple[float, float]]:
    """A skyline of hills (smooth) or peaks (sharp): points along the top edge, left to right."""
    xs = np.linspace(0, width, bumps * (2 if sharp else 8) + 1)
    if sharp:
        ys = [base - height * (0.35 + 0.65 * float(rng.uniform())) * (k % 2) for k in range(len(xs))]
        ys = [y + (0 if k % 2 else -height * 0.1 * float(rng.uniform())) for k, y in enumerate(ys)]
    else:
        phases = rng.uniform(0, 2 * math.pi, 3)
        freqs = (bumps / width, bumps * 2.3 / width, bumps * 5.1 / width)
        ys = [
            base
            - height
            * (
                0.55
                + 0.3 * math.sin(2 * math.pi * freqs[0] * x + phases[0])
                + 0.15 * math.sin(2 * math.pi * freqs[1] * x + phases[1])
            )
            for x in xs
        ]
    return [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]


def _fill_below(points: list[tuple[float, float]], bottom: float) -> list[tuple[float, float]]:
    return [(points[0][0], bottom), *points, (points[-1][0], bottom)]


@dataclass(frozen=True)
class Paint:
    """What a setting painter gets: the frame and band sizes, the light and a random stream."""

    w: int
    h: int
    far_w: int
    near_w: int
    horizon: int
    light: Light
    rng: np.random.Generator
    props: dict[tuple[str, int], U8] = field(default_factory=dict)  # lit once, however many are placed

    def prop(self, icon: str, size: float) -> U8:
        px = max(4, int(size * min(self.w, self.h)) // 2 * 2)
        key = (icon, px)
        if key not in self.props:
            self.props[key] = self.light.lit_image(np.array(raster(icon, px)))
        return self.props[key]


# -- the settings: each paints (far band or None, its top), near band; the sky is common ----------------


def _sea(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    near = Canvas(p.near_w, p.h - p.horizon)
    deep, mid, light = p.light.lit("#1b5e9e"), p.light.lit("#2f80c4"), p.light.lit("#8fd0f2")
    nh = near.height
    for k in range(12):  # darker with depth toward the viewer
        y0, y1 = nh * k / 12, nh * (k + 1) / 12
        near.rect(0, y0, p.near_w, y1 + 1, mix(mid, deep, k / 11))
    _wave_marks(p, near, light, 0.0, 1.0)
    return None, p.horizon, near


def _wave_marks(p: Paint, near: Canvas, colour: RGB, top: float, share: float) -> None:
    """Short light strokes on water, denser and larger toward the viewer; repeat every ``WAVE_PERIOD``."""
    period = _wave_period(p.w)
    nh = near.height
    rows = 9
    for r in range(rows):
        y = nh * (top + share * (r + 0.5) / rows) ** 1.35
        length = p.w * (0.015 + 0.03 * r / rows)
        thick = max(1.0, p.h * (0.002 + 0.003 * r / rows))
        step = period / (3 + (rows - r) // 2)
        offset = float(p.rng.uniform(0, step))
        x = offset
        while x < p.near_w + length:
            near.ellipse(x, y - thick, x + length, y + thick, colour, 200)
            x += step


def _wave_period(w: int) -> int:
    return max(8, (w // 4) // 2 * 2)


def _lake(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    """Still water under a wooded shore, grass in front: a pond, a lake, a river."""
    top = int(p.horizon - p.h * 0.3)
    far = Canvas(p.far_w, p.horizon - top + 4)
    fh = far.height
    line = _ridge(p.rng, p.far_w, fh * 0.6, fh * 0.25, 7)
    far.polygon(_fill_below(line, fh), p.light.lit("#2d5d45"))
    _trees(p, far, "evergreen-tree", max(5, p.far_w * 11 // max(p.w, 1)), (0.13, 0.22), fh + 2)
    near = Canvas(p.near_w, p.h - p.horizon)
    nh = near.height
    near.rect(0, 0, p.near_w, nh, p.light.lit("#2f6f8f"))
    near.rect(0, 0, p.near_w, nh * 0.06, p.light.lit("#24573f"))  # the far shore's reflection
    _wave_marks(p, near, p.light.lit("#7fb7cf"), 0.08, 0.6)
    bank = _ridge(p.rng, p.near_w, nh * 0.8, nh * 0.12, 3)
    near.polygon(_fill_below(bank, nh), p.light.lit("#4f8a3c"))
    for _ in range(int(40 * p.near_w / max(p.w, 1))):
        x = float(p.rng.uniform(0, p.near_w))
        y = float(p.rng.uniform(nh * 0.78, nh))
        reed = p.h * 0.03
        near.polygon([(x, y), (x + reed * 0.12, y - reed), (x + reed * 0.24, y)], p.light.lit("#5f9a45"))
    return far, top, near


def _beach(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    near = Canvas(p.near_w, p.h - p.horizon, headroom=int(p.h * 0.3))
    nh = near.height
    sea_h = nh * 0.3
    near.rect(0, 0, p.near_w, sea_h + 4, p.light.lit("#2f86c8"))
    _wave_marks(p, near, p.light.lit("#9ad6f3"), 0.0, 0.28)
    shore = _ridge(p.rng, p.near_w, sea_h + nh * 0.06, nh * 0.06, 5)
    near.polygon(_fill_below(shore, nh), p.light.lit("#f6f0e0"))
    sand = [(x, y + nh * 0.025) for x, y in shore]
    near.polygon(_fill_below(sand, nh), p.light.lit("#ecd09a"))
    for _ in range(30):
        x = float(p.rng.uniform(0, p.near_w))
        y = float(p.rng.uniform(nh * 0.5, nh))
        near.ellipse(x, y, x + p.w * 0.01, y + p.h * 0.004, p.light.lit("#d8b97c"))
    palm = p.prop("palm-tree", 0.42)
    near.prop(palm, p.near_w * 0.5 - p.w * 0.36, nh * 0.62)
    return None, p.horizon, near


def _city(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    top = int(p.horizon - p.h * 0.36)
    far = Canvas(p.far_w, p.horizon - top + 4)
    fh = far.height
    night = p.light.time in ("night", "sunset")
    for layer, (shade, lo, hi) in enumerate((("#8a9ab0", 0.35, 0.75), ("#55657e", 0.2, 0.6))):
        x = -float(p.rng.uniform(0, p.w * 0.05))
        colour = p.light.lit(shade)
        while x < p.far_w:
            bw = p.w * float(p.rng.uniform(0.04, 0.09))
            bh = fh * float(p.rng.uniform(lo, hi))
            far.rect(x, fh - bh, x + bw, fh, colour)
            if layer == 1:
                lit_window = p.light.lit("#cfe0ee") if not night else (255, 214, 110)
                ww, gap = max(2.0, bw * 0.14), max(3.0, bw * 0.26)
                wy = fh - bh + gap
                while wy < fh - gap:
                    wx = x + gap * 0.6
                    while wx + ww < x + bw - gap * 0.4:
                        if not night or p.rng.uniform() < 0.55:
                            far.rect(wx, wy, wx + ww, wy + ww * 1.3, lit_window)
                        wx += gap + ww * 0.4
                    wy += ww * 1.3 + gap * 0.5
            x += bw + p.w * float(p.rng.uniform(0.0, 0.02))
    near = Canvas(p.near_w, p.h - p.horizon)
    nh = near.height
    near.rect(0, 0, p.near_w, nh * 0.22, p.light.lit("#b9b4ab"))
    near.rect(0, nh * 0.22, p.near_w, nh * 0.27, p.light.lit("#8e887f"))
    near.rect(0, nh * 0.27, p.near_w, nh, p.light.lit("#4b4f56"))
    lane_y = nh * 0.62
    dash = p.w * 0.06
    x = 0.0
    while x < p.near_w:
        near.rect(x, lane_y, x + dash, lane_y + max(2.0, p.h * 0.008), p.light.lit("#ecece6"))
        x += dash * 2
    if night:  # lamp light pooled on the pavement
        for k in range(6):
            cx = p.near_w * (k + 0.5) / 6
            near.ellipse(cx - p.w * 0.05, nh * 0.05, cx + p.w * 0.05, nh * 0.2, (250, 210, 120), 60)
    return far, top, near


def _trees(p: Paint, far: Canvas, icon: str, count: int, size: tuple[float, float], base: float) -> None:
    for k in range(count):
        # Three sizes: each is rasterised once, however many trees there are.
        s = size[0] + (size[1] - size[0]) * int(p.rng.integers(0, 3)) / 2
        tree = p.prop(icon, s)
        x = p.far_w * (k + float(p.rng.uniform(0.1, 0.9))) / count
        far.prop(tree, x, base + float(p.rng.uniform(0, 0.03)) * p.h)


def _forest(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    top = int(p.horizon - p.h * 0.34)
    far = Canvas(p.far_w, p.horizon - top + 6)
    fh = far.height
    line = _ridge(p.rng, p.far_w, fh * 0.55, fh * 0.25, 9)
    far.polygon(_fill_below(line, fh), p.light.lit("#2d5d45"))
    _trees(p, far, "evergreen-tree", max(6, p.far_w * 14 // max(p.w, 1)), (0.16, 0.26), fh + 2)
    near = Canvas(p.near_w, p.h - p.horizon)
    nh = near.height
    near.rect(0, 0, p.near_w, nh, p.light.lit("#4f8a3c"))
    near.rect(0, nh * 0.55, p.near_w, nh, p.light.lit("#44793a"))
    for _ in range(int(60 * p.near_w / max(p.w, 1))):
        x, y = float(p.rng.uniform(0, p.near_w)), float(p.rng.uniform(nh * 0.1, nh))
        tuft = p.h * 0.012 * (0.5 + y / nh)
        near.polygon([(x, y), (x + tuft * 0.4, y - tuft), (x + tuft * 0.8, y)], p.light.lit("#6aa84f"))
    return far, top, near


def _desert(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    top = int(p.horizon - p.h * 0.14)
    far = Canvas(p.far_w, p.horizon - top + 4)
    far.polygon(
        _fill_below(_ridge(p.rng, p.far_w, far.height * 0.8, far.height * 0.7, 3), far.height),
        p.light.lit("#e9c08a"),
    )
    near = Canvas(p.near_w, p.h - p.horizon, headroom=int(p.h * 0.12))
    nh = near.height
    near.rect(0, 0, p.near_w, nh, p.light.lit("#e6ae6b"))
    dune = _ridge(p.rng, p.near_w, nh * 0.45, nh * 0.35, 2)
    near.polygon(_fill_below(dune, nh), p.light.lit("#d89552"))
    shadow = [(x, y + nh * 0.2) for x, y in _ridge(p.rng, p.near_w, nh * 0.6, nh * 0.2, 3)]
    near.polygon(_fill_below(shadow, nh), p.light.lit("#c9843f"))
    cactus = p.prop("cactus", 0.3)
    near.prop(cactus, p.near_w * 0.5 + p.w * 0.38, nh * 0.5)
    return far, top, near


def _mountains(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    top = int(p.horizon - p.h * 0.42)
    far = Canvas(p.far_w, p.horizon - top + 4)
    fh = far.height
    back = _ridge(p.rng, p.far_w, fh * 0.62, fh * 0.6, 5, sharp=True)
    far.polygon(_fill_below(back, fh), p.light.lit("#8ea0bb"))
    for (x0, y0), (x1, y1), (x2, y2) in zip(back, back[1:], back[2:], strict=False):
        if y1 < y0 and y1 < y2:  # a peak: a cap of snow
            k = 0.3
            far.polygon(
                [
                    (x1, y1),
                    (x1 + (x2 - x1) * k, y1 + (y2 - y1) * k),
                    (x1 + (x0 - x1) * k, y1 + (y0 - y1) * k),
                ],
                p.light.lit("#f3f6fa"),
            )
    front = _ridge(p.rng, p.far_w, fh * 0.95, fh * 0.45, 7, sharp=True)
    far.polygon(_fill_below(front, fh), p.light.lit("#5e7492"))
    near = Canvas(p.near_w, p.h - p.horizon)
    nh = near.height
    near.rect(0, 0, p.near_w, nh, p.light.lit("#6c9b4f"))
    hills = _ridge(p.rng, p.near_w, nh * 0.4, nh * 0.3, 2)
    near.polygon(_fill_below(hills, nh), p.light.lit("#5f8c45"))
    return far, top, near


def _meadow(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    top = int(p.horizon - p.h * 0.2)
    far = Canvas(p.far_w, p.horizon - top + 4)
    fh = far.height
    far.polygon(_fill_below(_ridge(p.rng, p.far_w, fh * 0.7, fh * 0.6, 3), fh), p.light.lit("#9ccc7a"))
    _trees(p, far, "deciduous-tree", max(3, p.far_w * 5 // max(p.w, 1)), (0.1, 0.16), fh * 0.8)
    far.polygon(_fill_below(_ridge(p.rng, p.far_w, fh * 0.95, fh * 0.35, 4), fh), p.light.lit("#82b862"))
    near = Canvas(p.near_w, p.h - p.horizon)
    nh = near.height
    near.rect(0, 0, p.near_w, nh, p.light.lit("#6aad52"))
    near.rect(0, nh * 0.5, p.near_w, nh, p.light.lit("#5e9f48"))
    for _ in range(int(90 * p.near_w / max(p.w, 1))):
        x, y = float(p.rng.uniform(0, p.near_w)), float(p.rng.uniform(nh * 0.05, nh))
        r = p.h * 0.004 * (0.6 + y / nh)
        colour = ("#ffffff", "#ffd84d", "#ff8fb1")[int(p.rng.integers(0, 3))]
        near.ellipse(x - r, y - r, x + r, y + r, p.light.lit(colour))
    return far, top, near


def _snowfield(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    top = int(p.horizon - p.h * 0.2)
    far = Canvas(p.far_w, p.horizon - top + 4)
    fh = far.height
    far.polygon(_fill_below(_ridge(p.rng, p.far_w, fh * 0.7, fh * 0.6, 3), fh), p.light.lit("#dfe8f2"))
    _trees(p, far, "evergreen-tree", max(4, p.far_w * 8 // max(p.w, 1)), (0.1, 0.18), fh)
    near = Canvas(p.near_w, p.h - p.horizon)
    nh = near.height
    near.rect(0, 0, p.near_w, nh, p.light.lit("#f4f7fb"))
    drift = _ridge(p.rng, p.near_w, nh * 0.5, nh * 0.25, 2)
    near.polygon(_fill_below([(x, y + nh * 0.1) for x, y in drift], nh), p.light.lit("#dde6f1"))
    return far, top, near


def _space(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    near = Canvas(p.near_w, p.h - p.horizon)
    nh = near.height
    surface = _ridge(p.rng, p.near_w, nh * 0.55, nh * 0.2, 3)
    near.polygon(_fill_below(surface, nh), (142, 142, 156))
    for _ in range(int(14 * p.near_w / max(p.w, 1))):
        x, y = float(p.rng.uniform(0, p.near_w)), float(p.rng.uniform(nh * 0.6, nh))
        r = p.h * float(p.rng.uniform(0.01, 0.03))
        near.ellipse(x - r, y - r * 0.4, x + r, y + r * 0.4, (112, 112, 126))
    return None, p.horizon, near


def _room(p: Paint) -> tuple[Canvas | None, int, Canvas]:
    top = int(p.h * 0.1)
    far = Canvas(p.far_w, p.horizon - top + 4)
    fh = far.height
    sky = SKIES[p.light.time]
    wx0, wx1 = p.far_w * 0.5 - p.w * 0.36, p.far_w * 0.5 - p.w * 0.12
    wy0, wy1 = fh * 0.36, fh * 0.86  # below the words' band at the top of the frame
    frame = (245, 240, 232)
    far.rect(wx0 - p.h * 0.012, wy0 - p.h * 0.012, wx1 + p.h * 0.012, wy1 + p.h * 0.012, frame)
    for k in range(8):
        far.rect(
            wx0,
            wy0 + (wy1 - wy0) * k / 8,
            wx1,
            wy0 + (wy1 - wy0) * (k + 1) / 8 + 1,
            mix(hex_rgb(sky[0]), hex_rgb(sky[2]), k / 7),
        )
    far.rect((wx0 + wx1) / 2 - p.h * 0.006, wy0, (wx0 + wx1) / 2 + p.h * 0.006, wy1, frame)
    far.rect(wx0, (wy0 + wy1) / 2 - p.h * 0.006, wx1, (wy0 + wy1) / 2 + p.h * 0.006, frame)
    picture = (
        p.prop("framed-picture", 0.22)
        if p.light.time != "night"
        else np.array(raster("framed-picture", max(4, int(0.22 * min(p.w, p.h)) // 2 * 2)))
    )
    far.prop(picture, p.far_w * 0.5 + p.w * 0.26, fh * 0.62)
    near = Canvas(p.near_w, p.h - p.horizon, headroom=int(p.h * 0.16))
    nh = near.height
    near.rect(0, 0, p.near_w, nh * 0.05, (238, 230, 218))
    plank_a, plank_b = hex_rgb("#b07c4c"), hex_rgb("#9d6a3e")
    rows = 6
    for r in range(rows):
        y0 = nh * 0.05 + (nh * 0.95) * (r / rows) ** 1.2
        y1 = nh * 0.05 + (nh * 0.95) * ((r + 1) / rows) ** 1.2
        near.rect(0, y0, p.near_w, y1 + 1, plank_a if r % 2 else plank_b)
    plant = np.array(raster("potted-plant", max(4, int(0.3 * min(p.w, p.h)) // 2 * 2)))
    near.prop(plant, p.near_w * 0.5 - p.w * 0.4, nh * 0.3)
    return far, top, near


Painter = Callable[[Paint], tuple[Canvas | None, int, Canvas]]

#: The painter of each setting kind (``backgrounds.BACKGROUNDS`` registers each as a background kind).
PAINTERS: dict[BackgroundKind, Painter] = {
    "sea": _sea,
    "lake": _lake,
    "beach": _beach,
    "city": _city,
    "forest": _forest,
    "desert": _desert,
    "mountains": _mountains,
    "meadow": _meadow,
    "snowfield": _snowfield,
    "space": _space,
    "room": _room,
}


class NearBand:
    """The ground: the rows below ``edge`` are opaque everywhere and copied; the rows above are blended."""

    def __init__(self, rgba: U8, top: int) -> None:
        opaque = np.all(rgba[..., 3] == 255, axis=1)
        below = np.flatnonzero(~opaque)
        edge = int(below[-1]) + 1 if len(below) else 0
        edge += edge % 2
        edge = min(edge, rgba.shape[0] - rgba.shape[0] % 2)
        self.top = top
        self.edge = edge
        self.sprite: Sprite | None = sprite_from_rgba(rgba[:edge]) if edge > 0 else None
        solid = rgba[edge:, :, :3].astype(np.float32) / 255.0
        h = solid.shape[0] - solid.shape[0] % 2
        solid = solid[:h, : rgba.shape[1] - rgba.shape[1] % 2]
        y, u, v = rgb_to_yuv(solid)
        self.y, self.u, self.v = to_u8(y), to_u8(half_size(u)), to_u8(half_size(v))

    def draw(self, planes: Planes, x: int) -> None:
        """Draw with its left edge at ``x`` (<= 0: the band is wider than the frame)."""
        x -= x % 2
        w, h = planes.width, planes.height
        if self.sprite is not None:
            blend_sprite(planes, self.sprite, x, self.top)
        y0 = self.top + self.edge
        rows = min(self.y.shape[0], h - y0)
        if rows <= 0:
            return
        np.copyto(planes.y[y0 : y0 + rows], self.y[:rows, -x : -x + w])
        c0, crows = y0 // 2, rows // 2
        np.copyto(planes.u[c0 : c0 + crows], self.u[:crows, -x // 2 : -x // 2 + w // 2])
        np.copyto(planes.v[c0 : c0 + crows], self.v[:crows, -x // 2 : -x // 2 + w // 2])


class Setting:
    """One scene's setting, prepared: the far band and the near band, with how far each may be moved."""

    def __init__(
        self, bg: Background, kind: BackgroundKind, w: int, h: int, reach: float, rng: np.random.Generator
    ) -> None:
        self.w, self.h = w, h
        self.kind = kind
        self.far_margin = int(math.ceil(reach * FAR_PARALLAX)) + 2
        self.wave = _wave_period(w) if kind in ("sea", "beach", "lake") else 0
        self.near_margin = int(math.ceil(reach)) + 2
        self.far_margin += self.far_margin % 2
        self.near_margin += self.near_margin % 2
        horizon = int(h * HORIZON) // 2 * 2
        paint = Paint(
            w=w,
            h=h,
            far_w=w + 2 * self.far_margin,
            near_w=w + 2 * self.near_margin + self.wave,
            horizon=horizon,
            light=Light(
                bg.time_of_day if kind not in ("space",) else "night", bg.clouds if kind != "room" else 0.0
            ),
            rng=rng,
        )
        far, far_top, near = PAINTERS[kind](paint)
        self.far: Sprite | None = None
        self.far_top = far_top - far_top % 2
        if far is not None:
            self.far = sprite_from_rgba(far.finish())
        self.near = NearBand(near.finish(), horizon - near.headroom)
        self.wave_speed = 0.012 * w  # pixels per second the sea's marks drift

    def draw(self, planes: Planes, t: float, view: View) -> None:
        if self.far is not None:
            x = int(round(view.pan * FAR_PARALLAX)) - self.far_margin
            blend_sprite(planes, self.far, x, self.far_top)
        x = int(round(view.pan)) - self.near_margin
        if self.wave:
            x -= int(self.wave_speed * t) % self.wave
        self.near.draw(planes, max(-(self.near.y.shape[1] - planes.width), min(0, x)))
