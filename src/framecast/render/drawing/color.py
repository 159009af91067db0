"""Colours: hex parsing, palettes as arrays, and BT.709 limited-range RGB <-> YUV in numpy.

Frames are built directly as yuv420p planes (what x264 eats), so RGB only appears where art is made once
(palettes, text sprites, background canvases) and where a JPEG is written (posters, thumbnails).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``"#ff8800"`` -> ``(255, 136, 0)``."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def palette_array(colours: list[str]) -> F32:
    """Palette as an ``(n, 3)`` float32 array in 0..1."""
    return np.array([hex_rgb(c) for c in colours], dtype=np.float32) / 255.0


def rgb_to_yuv(rgb: F32) -> tuple[F32, F32, F32]:
    """Float RGB (..., 3) in 0..1 -> Y, Cb, Cr as float32 in limited-range code values (16..235/240)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = _KR * r + _KG * g + _KB * b
    cb = (b - y) / (2 * (1 - _KB))
    cr = (r - y) / (2 * (1 - _KR))
    return (
        (16 + 219 * y).astype(np.float32),
        (128 + 224 * cb).astype(np.float32),
        (128 + 224 * cr).astype(np.float32),
    )


def yuv_to_rgb(y: U8, u: U8, v: U8) -> U8:
    """yuv420p planes -> RGB (h, w, 3) uint8 (chroma upsampled by repetition; for posters and tests)."""
    yf = (y.astype(np.float32) - 16) / 219
    uf = (np.repeat(np.repeat(u, 2, 0), 2, 1).astype(np.float32) - 128) / 224
    vf = (np.repeat(np.repeat(v, 2, 0), 2, 1).astype(np.float32) - 128) / 224
    uf, vf = uf[: y.shape[0], : y.shape[1]], vf[: y.shape[0], : y.shape[1]]
    r = yf + 2 * (1 - _KR) * vf
    b = yf + 2 * (1 - _KB) * uf
    g = (yf - _KR * r - _KB * b) / _KG
    rgb = np.stack([r, g, b], axis=-1)
    out: U8 = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def to_u8(plane: F32) -> U8:
    """Round and clip a float plane to uint8."""
    out: U8 = np.clip(plane + 0.5, 0, 255).astype(np.uint8)
    return out


def luminance(colour: str) -> float:
    """Relative luminance 0..1 of a hex colour (to choose light or dark text)."""
    r, g, b = (c / 255 for c in hex_rgb(colour))
    return _KR * r + _KG * g + _KB * b
