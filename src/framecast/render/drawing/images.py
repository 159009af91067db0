"""Uploaded images: checked when uploaded, and looked up through the caller's ``asset_path`` resolver
(the media store) when rendered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from framecast.domain.errors import InvalidInput
from framecast.render.assets import AssetPath
from framecast.render.drawing.color import U8

MAX_PIXELS = 40_000_000


def _open(asset_id: str, asset_path: AssetPath | None) -> Image.Image:
    if asset_path is None:
        raise InvalidInput(
            f"the timeline uses asset {asset_id!r} but no asset store was given to the renderer",
            field="asset_id",
        )
    path = asset_path(asset_id)
    try:
        img = Image.open(path)
        if img.width * img.height > MAX_PIXELS:
            raise InvalidInput(
                f"image {asset_id!r} is too large ({img.width}x{img.height})", field="asset_id"
            )
        img.load()
    except (OSError, UnidentifiedImageError) as exc:
        raise InvalidInput(f"asset {asset_id!r} is not a readable image: {exc}", field="asset_id") from exc
    return img


def load_image_rgb(asset_id: str, asset_path: AssetPath | None) -> U8:
    """The image as RGB uint8 (h, w, 3)."""
    return np.asarray(_open(asset_id, asset_path).convert("RGB"), dtype=np.uint8)


def load_image_rgba(asset_id: str, asset_path: AssetPath | None) -> Image.Image:
    """The image as an RGBA Pillow image."""
    return _open(asset_id, asset_path).convert("RGBA")


def verified_size(path: Path) -> tuple[int, int]:
    """Width and height of the image at ``path`` once Pillow has checked its structure, so a file that only
    starts like a PNG is refused (raises InvalidInput)."""
    try:
        with Image.open(path) as img:
            img.verify()
            return img.width, img.height
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"{path.name} is not a readable image: {exc}", field="file") from exc
