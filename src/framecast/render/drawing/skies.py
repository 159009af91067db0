"""Skies: a setting's sky (or a room's wall) by time of day and cloud cover, painted at half resolution
as a texture that tiles sideways (``backgrounds._Texture`` upscales the part frames show).

Flat colours in three stops down to the horizon, a low sun's glow at dawn and sunset or the moon and a
few stars at night, and flat clouds whose number and greyness follow the cover.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from framecast.domain.timeline import Background, BackgroundKind, TimeOfDay
from framecast.render.drawing.color import U8, hex_rgb

RGB = tuple[int, int, int]
HORIZON = 0.6  # of the frame height: where the near band (the ground) begins


def mix(a: RGB, b: RGB, k: float) -> RGB:
    return (
        int(round(a[0] + (b[0] - a[0]) * k)),
        int(round(a[1] + (b[1] - a[1]) * k)),
        int(round(a[2] + (b[2] - a[2]) * k)),
    )


SKIES: dict[TimeOfDay, tuple[str, str, str]] = {
    "dawn": ("#3b4f86", "#c98aa8", "#f8c9a0"),
    "day": ("#2c72c4", "#6fb0e4", "#cfeaf8"),
    "sunset": ("#2a2c6b", "#b8477a", "#f7a25e"),
    "night": ("#050a1e", "#0d1836", "#24335e"),
}
OVERCAST: dict[TimeOfDay, tuple[str, str, str]] = {
    "dawn": ("#5d6478", "#9a94a3", "#c9bfbf"),
    "day": ("#6f7d8c", "#98a4b0", "#c3cbd3"),
    "sunset": ("#4a4660", "#836a80", "#b88f86"),
    "night": ("#0d1220", "#1a2232", "#2b3445"),
}


def sky_low(bg: Background, kind: BackgroundKind, h: int, w: int, rng: np.random.Generator) -> U8:
    """The sky (or a room's wall) as an (h, w, 3) RGB texture, tileable sideways (period ``w``)."""
    time = bg.time_of_day
    if kind == "room":
        warm = hex_rgb("#eadbc6") if time != "night" else hex_rgb("#a88f72")
        cool = hex_rgb("#d9c7ae") if time != "night" else hex_rgb("#8a7358")
        ys = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        img = (np.array(warm, np.float32) * (1 - ys) + np.array(cool, np.float32) * ys).repeat(w, axis=1)
        stripes = (np.sin(np.arange(w, dtype=np.float32) / w * 2 * math.pi * 18) > 0.6)[None, :, None]
        img = np.where(stripes, img * 0.96, img)
        return np.clip(img, 0, 255).astype(np.uint8)
    if kind == "space":
        top, bottom = np.array(hex_rgb("#04051a"), np.float32), np.array(hex_rgb("#1b1442"), np.float32)
        ys = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        img = (top * (1 - ys) + bottom * ys).repeat(w, axis=1)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        for colour in ((120, 60, 170), (40, 110, 160)):
            cx, cy, r = (
                float(rng.uniform(0, w)),
                float(rng.uniform(0, h * 0.7)),
                float(rng.uniform(0.2, 0.4)) * w,
            )
            dx = np.minimum(np.abs(xx - cx), w - np.abs(xx - cx))
            a = np.clip(1 - np.hypot(dx, yy - cy) / r, 0, 1)[..., None] ** 2 * 0.5
            img = img + (np.array(colour, np.float32) - img) * a
        n = int(w * h / 160)
        sx, sy = rng.integers(0, w, n), rng.integers(0, h, n)
        img[sy, sx] = np.maximum(img[sy, sx], rng.uniform(120, 255, (n, 1)).astype(np.float32))
        return np.clip(img, 0, 255).astype(np.uint8)
    clear, grey = SKIES[time], OVERCAST[time]
    k = min(1.0, max(0.0, (bg.clouds - 0.25) / 0.6))
    stops = [mix(hex_rgb(a), hex_rgb(b), k) for a, b in zip(clear, grey, strict=True)]
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    horizon = HORIZON
    t = np.clip(ys / horizon, 0, 1)
    lo = np.where(t < 0.55, t / 0.55, 1.0)
    hi = np.where(t < 0.55, 0.0, (t - 0.55) / 0.45)
    s0, s1, s2 = (np.array(s, np.float32) for s in stops)
    row = np.where(
        (t < 0.55)[..., None],
        s0 * (1 - lo[..., None]) + s1 * lo[..., None],
        s1 * (1 - hi[..., None]) + s2 * hi[..., None],
    )
    img = np.repeat(row[:, None, :], w, axis=1).reshape(h, w, 3)
    if bg.clouds < 0.7 and time != "day":  # a low sun's glow, or the moon (a sun of the words is a subject)
        cx = w * 0.55
        cy = h * {"dawn": 0.55, "day": 0.3, "sunset": 0.55, "night": 0.3}[time]
        r = h * (0.05 if time == "night" else 0.09)
        # Only the glow's square is computed (it sits in the middle of the tile: no wrapping).
        y0, y1 = max(0, int(cy - 4 * r)), min(h, int(cy + 4 * r) + 1)
        x0, x1 = max(0, int(cx - 4 * r)), min(w, int(cx + 4 * r) + 1)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        colour = {
            "dawn": (255, 214, 170),
            "day": (255, 246, 214),
            "sunset": (255, 196, 120),
            "night": (236, 236, 220),
        }[time]
        d = np.hypot(xx - cx, yy - cy)
        glow = np.clip(1 - d / (r * 4), 0, 1)[..., None] ** 2 * (0.5 if time != "night" else 0.25)
        disc = np.clip((r - d) / 1.5, 0, 1)[..., None]
        part = img[y0:y1, x0:x1]
        part += (np.array(colour, np.float32) - part) * np.maximum(glow, disc) * (1 - bg.clouds)
        if time == "night":
            n = int(w * h / 300)
            sx, sy = rng.integers(0, w, n), rng.integers(0, int(h * horizon), n)
            img[sy, sx] = np.maximum(
                img[sy, sx], rng.uniform(110, 230, (n, 1)).astype(np.float32) * (1 - bg.clouds)
            )
    cloud_rgb = np.array(
        {"dawn": (250, 222, 226), "day": (255, 255, 255), "sunset": (250, 190, 170), "night": (70, 80, 110)}[
            time
        ],
        np.float32,
    )
    cloud_rgb = cloud_rgb * (1 - 0.3 * k)
    n_clouds = int(2 + 9 * bg.clouds)
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(n_clouds):
        cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0.3, 0.5)) * h  # below the words' band
        size = float(rng.uniform(0.035, 0.07)) * w * (1 + 0.6 * bg.clouds)
        for dx in (-w, 0.0, w):  # drawn three times: the texture tiles sideways
            for j in range(5):
                bx = cx + dx + (j - 2) * size * 0.45
                by = cy - size * 0.25 * math.sin(math.pi * (j + 0.5) / 5)
                rr = size * (0.3 + 0.22 * math.sin(math.pi * (j + 0.5) / 5))
                draw.ellipse((bx - rr, by - rr * 0.7, bx + rr, by + rr * 0.55), fill=255)
            base = (cx + dx - size * 1.1, cy - size * 0.05, cx + dx + size * 1.1, cy + size * 0.25)
            draw.rounded_rectangle(base, radius=size * 0.15, fill=255)
    a = np.asarray(mask, dtype=np.float32)[..., None] * ((0.9 if k < 0.5 else 0.75) / 255)
    img += (cloud_rgb - img) * a
    out: U8 = np.clip(img, 0, 255).astype(np.uint8)
    return out
