"""Illustrations rasterised from the set's vector art (cairosvg), at the size they are drawn.

An icon is rasterised once per (icon, size) per process and kept in a small cache bounded by bytes, so a
subject drawn in several scenes, or chunk after chunk of one video, is rasterised once; frames never
rasterise (layers turn rasters into sprites once per size, see ``illustrations``).

>>> rgba = raster("sailboat", 240)                     # doctest: +SKIP
>>> rgba.shape
(240, 240, 4)
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from cairosvg.parser import Tree
from cairosvg.surface import PNGSurface

from framecast.render.artset import icon_set
from framecast.render.drawing.color import U8

RASTER_CACHE_BYTES = 64 * 1024 * 1024
MAX_PX = 4608  # a subject at 4x the short side of a 1080p frame


class _RasterCache:
    """LRU of rasters by (icon, size), bounded by bytes; thread safe (a worker may render in threads)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.bytes = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[tuple[str, int], U8] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> U8 | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, int], value: U8) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self.bytes += int(value.nbytes)
            while self.bytes > self.limit and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self.bytes -= int(old.nbytes)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0
            self.hits = self.misses = 0


#: The process's rasters.
RASTERS = _RasterCache(RASTER_CACHE_BYTES)


def _rasterise(svg: str, px: int) -> U8:
    """Draw an SVG with cairo and read cairo's pixels directly (no PNG encoded and decoded on the way)."""
    tree = Tree(bytestring=svg.encode())
    surface = PNGSurface(tree, None, 96, output_width=px, output_height=px)
    image = surface.cairo
    image.flush()
    stride = image.get_stride()
    bgra = np.frombuffer(image.get_data(), np.uint8).reshape(image.get_height(), stride // 4, 4)
    bgra = bgra[:, : image.get_width()]
    # cairo keeps premultiplied BGRA (native byte order, little-endian here); sprites want straight RGBA.
    alpha = bgra[..., 3:4].astype(np.float32)
    rgb = bgra[..., 2::-1].astype(np.float32) * 255.0 / np.maximum(alpha, 1.0)
    rgba = np.empty((*bgra.shape[:2], 4), np.uint8)
    rgba[..., :3] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    rgba[..., 3] = bgra[..., 3]
    return rgba


def raster(icon: str, px: int) -> U8:
    """Icon ``icon`` as straight-alpha RGBA uint8, ``px`` x ``px`` (read-only: shared by every user)."""
    px = max(2, min(MAX_PX, int(px)))
    key = (icon, px)
    found = RASTERS.get(key)
    if found is not None:
        return found
    rgba = _rasterise(icon_set().svg(icon), px)
    rgba.setflags(write=False)
    RASTERS.put(key, rgba)
    return rgba
