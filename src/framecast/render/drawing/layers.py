"""Layers: every layer type's one entry (:data:`LAYERS`); text, captions, shapes and images as sprites.

A layer is rasterised once to RGBA with Pillow and converted once to a premultiplied YUVA sprite; each
frame only moves and blends it. Scale and typewriter animations need other pixels, so their frames are made
on demand and cached by step (a 0.5 s animation costs a handful of small Pillow calls, then nothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageDraw

from framecast.domain.timeline import (
    CaptionLayer,
    EffectLayer,
    IllustrationLayer,
    ImageLayer,
    Layer,
    ShapeLayer,
    TextLayer,
)
from framecast.render.assets import AssetPath
from framecast.render.drawing.animation import (
    ANIMATION_CACHE_BYTES,
    REFERENCE_SHORT_SIDE,
    SAFE_MARGIN,
    AnimState,
    anim_state,
)
from framecast.render.drawing.camera import STILL, View
from framecast.render.drawing.color import hex_rgb
from framecast.render.drawing.effects import EffectRenderer
from framecast.render.drawing.illustrations import IllustrationRenderer
from framecast.render.drawing.images import load_image_rgba
from framecast.render.drawing.planes import Planes, Sprite, blend_sprite, sprite_from_rgba
from framecast.render.drawing.text import TextBlock, char_count, layout, render_block


@dataclass(frozen=True)
class LayerContext:
    """What every layer is prepared with: the frame, the scene's length, the rate, the uploads' resolver
    and the layer's own seed (for what is random in it)."""

    width: int
    height: int
    scene_s: float
    fps: int = 30
    asset_path: AssetPath | None = None
    seed: int = 0


class DrawnLayer(Protocol):
    """A layer prepared for one scene: draws itself at any scene time."""

    def draw(self, planes: Planes, t: float, fade: float = 1.0, view: View = STILL) -> None: ...

    def drop_animation_frames(self) -> None: ...


@dataclass(frozen=True)
class SpriteKind:
    """How a sprite layer type is drawn: ``rasterise`` makes its RGBA picture once per scene (and the
    typewriter's partial pictures, given how many characters show); ``place`` puts its centre."""

    rasterise: Callable[[LayerRenderer, AssetPath | None, int | None], Image.Image]
    place: Callable[[LayerRenderer], tuple[float, float]]


class LayerRenderer:
    """One sprite layer (text, caption, shape, image) of one scene, ready to draw at any scene time."""

    def __init__(self, layer: Layer, ctx: LayerContext, kind: SpriteKind) -> None:
        self.lead = 1.0 / ctx.fps
        self.layer = layer
        self.w, self.h = ctx.width, ctx.height
        self.short = min(self.w, self.h)
        self.margin = int(SAFE_MARGIN * self.short)
        self.start = layer.start_s
        self.end = layer.end_s if layer.end_s is not None else ctx.scene_s
        self.held = layer.end_s is None and layer.animate_out.kind == "none"
        self._spec = kind
        self._block: TextBlock | None = None
        self._cache: dict[tuple[int, int], Sprite] = {}
        self._cache_bytes = 0
        self.image = self._rasterise(ctx.asset_path)
        self.sprite = sprite_from_rgba(np.asarray(self.image, dtype=np.uint8))
        self.cx, self.cy = self._spec.place(self)

    # -- rasterising ----------------------------------------------------------------------------------

    def _px(self, size: float) -> int:
        return max(6, int(round(size * self.short / REFERENCE_SHORT_SIDE)))

    def _rasterise(self, asset_path: AssetPath | None, visible: int | None = None) -> Image.Image:
        """The layer as RGBA (``visible``: only that many characters of its text, for typewriters)."""
        return self._spec.rasterise(self, asset_path, visible)

    def _text_image(self, asset_path: AssetPath | None, visible: int | None) -> Image.Image:
        layer = self.layer
        assert isinstance(layer, TextLayer)
        if self._block is None:
            max_w = int(min(layer.max_width * self.w, self.w - 2.6 * self.margin))
            self._block = layout(
                layer.text,
                layer.font,
                layer.weight,
                self._px(layer.size),
                max_w,
                int(self.h * 0.8),
                layer.align,
            )
        box = hex_rgb(layer.box) if layer.box else None
        return render_block(
            self._block, hex_rgb(layer.color), shadow=layer.shadow, box=box, visible_chars=visible
        )

    def _caption_image(self, asset_path: AssetPath | None, visible: int | None) -> Image.Image:
        layer = self.layer
        assert isinstance(layer, CaptionLayer)
        if self._block is None:
            max_w = int(self.w * 0.9 - 2 * self.margin)
            self._block = layout(
                layer.text, "sans", "bold", self._px(layer.size), max_w, int(self.h * 0.3), "center"
            )
        return render_block(
            self._block,
            hex_rgb(layer.color),
            shadow=False,
            box=hex_rgb(layer.box),
            box_alpha=165,
            visible_chars=visible,
        )

    def _shape_image(self, asset_path: AssetPath | None, visible: int | None) -> Image.Image:
        layer = self.layer
        assert isinstance(layer, ShapeLayer)
        w = max(2, int(layer.width * self.w))
        h = max(2, int(layer.height * self.h))
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        fill = (*hex_rgb(layer.color), 255)
        if layer.shape == "circle":
            d.ellipse((0, 0, w - 1, h - 1), fill=fill)
        elif layer.shape == "rounded":
            d.rounded_rectangle((0, 0, w - 1, h - 1), radius=min(w, h) // 4, fill=fill)
        else:
            d.rectangle((0, 0, w - 1, h - 1), fill=fill)
        return img

    def _uploaded_image(self, asset_path: AssetPath | None, visible: int | None) -> Image.Image:
        layer = self.layer
        assert isinstance(layer, ImageLayer)
        img = load_image_rgba(layer.asset_id, asset_path)
        bw, bh = max(2, int(layer.width * self.w)), max(2, int(layer.height * self.h))
        scale = (min if layer.fit == "contain" else max)(bw / img.width, bh / img.height)
        img = img.resize((max(2, round(img.width * scale)), max(2, round(img.height * scale))))
        if layer.fit == "cover":
            left, top = (img.width - bw) // 2, (img.height - bh) // 2
            img = img.crop((left, top, left + bw, top + bh))
        return img

    # -- placing: the centre of the sprite in pixels ----------------------------------------------------

    def _place_at_xy(self) -> tuple[float, float]:
        """Shapes and images sit where they are put, even partly off the frame."""
        layer = self.layer
        assert isinstance(layer, ShapeLayer | ImageLayer)
        return layer.x * self.w, layer.y * self.h

    def _place_text(self) -> tuple[float, float]:
        layer = self.layer
        assert isinstance(layer, TextLayer)
        cx, cy = layer.x * self.w, layer.y * self.h
        if layer.align != "center":
            sw = self.sprite.width
            cx += sw / 2 if layer.align == "left" else -sw / 2
        return self._inside_margin(cx, cy)

    def _place_caption(self) -> tuple[float, float]:
        sh = self.sprite.height
        return self._inside_margin(self.w / 2, self.h - max(self.margin, int(self.h * 0.07)) - sh / 2)

    def _inside_margin(self, cx: float, cy: float) -> tuple[float, float]:
        """Moved inside the safe margin (text is never clipped); centred if it is larger than that."""
        sw, sh, m = self.sprite.width, self.sprite.height, self.margin
        cx = min(max(cx, m + sw / 2), self.w - m - sw / 2) if sw + 2 * m <= self.w else self.w / 2
        cy = min(max(cy, m + sh / 2), self.h - m - sh / 2) if sh + 2 * m <= self.h else self.h / 2
        return cx, cy

    # -- drawing --------------------------------------------------------------------------------------

    def _sprite_for(self, state: AnimState) -> Sprite:
        if state.scale >= 0.999 and state.reveal >= 0.999:
            return self.sprite
        chars = None
        if state.reveal < 0.999 and self._block is not None:
            chars = int(math.ceil(char_count(self._block) * state.reveal))
        key = (round(state.scale * 64), -1 if chars is None else chars)
        cached = self._cache.get(key)
        if cached is None:
            img = self.image if chars is None else self._rasterise(None, visible=chars)
            if state.scale < 0.999:
                s = key[0] / 64
                img = img.resize((max(2, round(img.width * s)), max(2, round(img.height * s))))
            cached = sprite_from_rgba(np.asarray(img, dtype=np.uint8))
            if len(self._cache) > 96 or self._cache_bytes + cached.nbytes > ANIMATION_CACHE_BYTES:
                self.drop_animation_frames()
            self._cache[key] = cached
            self._cache_bytes += cached.nbytes
        return cached

    def drop_animation_frames(self) -> None:
        """Forget the cached animation sprites (made again on demand); the layer's own sprite stays."""
        self._cache.clear()
        self._cache_bytes = 0

    def draw(self, planes: Planes, t: float, fade: float = 1.0, view: View = STILL) -> None:
        """Text, shapes and images stay where they are put whatever the camera does."""
        layer = self.layer
        state = anim_state(
            layer.animate_in, layer.animate_out, t, self.start, self.end, self.held, self.short, self.lead
        )
        if state is None:
            return
        sprite = self._sprite_for(state)
        x = int(round(self.cx + state.dx - sprite.width / 2))
        y = int(round(self.cy + state.dy - sprite.height / 2))
        blend_sprite(planes, sprite, x, y, state.opacity * layer.opacity * fade)


@dataclass(frozen=True)
class LayerKindSpec:
    """How one layer type becomes something that draws: ``make`` prepares it once per scene."""

    make: Callable[[Any, LayerContext], DrawnLayer]


def _sprites(
    rasterise: Callable[[LayerRenderer, AssetPath | None, int | None], Image.Image],
    place: Callable[[LayerRenderer], tuple[float, float]],
) -> Callable[[Any, LayerContext], DrawnLayer]:
    kind = SpriteKind(rasterise, place)
    return lambda layer, ctx: LayerRenderer(layer, ctx, kind)


def _illustration(layer: IllustrationLayer, ctx: LayerContext) -> DrawnLayer:
    return IllustrationRenderer(layer, ctx.width, ctx.height, ctx.scene_s, ctx.fps)


def _effect(layer: EffectLayer, ctx: LayerContext) -> DrawnLayer:
    return EffectRenderer(layer, ctx.width, ctx.height, ctx.scene_s, ctx.fps, ctx.seed)


#: Every layer type, by its ``type`` name. A new type is its model in ``domain.timeline`` (a member of the
#: ``Layer`` union, which the schema and validation read) and its entry here.
LAYERS: dict[str, LayerKindSpec] = {
    "text": LayerKindSpec(_sprites(LayerRenderer._text_image, LayerRenderer._place_text)),
    "caption": LayerKindSpec(_sprites(LayerRenderer._caption_image, LayerRenderer._place_caption)),
    "shape": LayerKindSpec(_sprites(LayerRenderer._shape_image, LayerRenderer._place_at_xy)),
    "image": LayerKindSpec(_sprites(LayerRenderer._uploaded_image, LayerRenderer._place_at_xy)),
    "illustration": LayerKindSpec(_illustration),
    "effect": LayerKindSpec(_effect),
}


def make_layer(layer: Layer, ctx: LayerContext) -> DrawnLayer:
    """Prepare ``layer`` for a scene (rasterise, lay out, make sprites)."""
    return LAYERS[layer.type].make(layer, ctx)
