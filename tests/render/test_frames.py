from __future__ import annotations

from typing import get_args

import numpy as np
import pytest

from framecast.domain.options import VideoOptions
from framecast.domain.timeline import LAYER_TYPES, Animation, BackgroundKind, parse_timeline
from framecast.render.drawing.animation import anim_state, ease_out
from framecast.render.drawing.backgrounds import BACKGROUNDS, _Texture
from framecast.render.drawing.color import palette_array, rgb_to_yuv, yuv_to_rgb
from framecast.render.drawing.layers import LAYERS
from framecast.render.drawing.planes import Planes, blend_sprite, crossfade, sprite_from_rgba
from framecast.render.drawing.settings import PAINTERS
from framecast.render.encoding.chunks import chunk_ranges, gop_frames
from framecast.render.encoding.encode import yuv420p_to_rgb
from framecast.render.frames import FrameSource, ScenePool, timeline_fingerprint

OPTS = VideoOptions(resolution="360p", fps=24, seed=5)
KINDS = [kind for kind in BACKGROUNDS if kind != "image"]  # image: tests/render/test_assets.py
ABSTRACT = [kind for kind in KINDS if kind not in PAINTERS]  # settings: tests/render/test_illustrated.py


def tl_for(scenes: list[dict[str, object]], w: int = 96, h: int = 64):  # type: ignore[no-untyped-def]
    return parse_timeline({"canvas": {"width": w, "height": h}, "scenes": scenes}, OPTS)


def test_rgb_yuv_round_trip() -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [40, 120, 200]]], np.float32) / 255
    y, u, v = rgb_to_yuv(rgb)
    np.testing.assert_allclose(y[0, 0], 16 + 219 * 0.2126, atol=0.01)  # BT.709 red
    back = yuv_to_rgb(
        np.round(y).astype(np.uint8), np.full((1, 1), 128, np.uint8), np.full((1, 1), 128, np.uint8)
    )
    np.testing.assert_allclose(back[..., 0], back[..., 1], atol=1)  # neutral chroma is grey
    white = rgb_to_yuv(np.ones((1, 1, 3), np.float32))
    np.testing.assert_allclose([white[0][0, 0], white[1][0, 0], white[2][0, 0]], [235, 128, 128], atol=0.01)


def test_opaque_sprite_replaces_and_transparent_sprite_leaves_pixels() -> None:
    planes = Planes(8, 8)
    planes.fill(50, 100, 150)
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[:2, :, 3] = 255  # top half opaque white, bottom half transparent
    blend_sprite(planes, sprite_from_rgba(rgba), 2, 2)
    np.testing.assert_array_equal(planes.y[2:4, 2:6], 235)
    np.testing.assert_array_equal(planes.y[4:6, 2:6], 50)
    np.testing.assert_array_equal(planes.y[:2], 50)
    blend_sprite(planes, sprite_from_rgba(rgba), -3, -3)  # off the edge: clipped, no error
    blend_sprite(planes, sprite_from_rgba(rgba), 100, 100)


def test_crossfade_midpoint_is_the_mean() -> None:
    a, b = Planes(4, 4), Planes(4, 4)
    a.fill(20, 100, 100)
    b.fill(220, 140, 160)
    crossfade(a, b, 0.5)
    np.testing.assert_array_equal(a.y, 120)
    np.testing.assert_array_equal(a.v, 130)


def _full_tiling(tex: _Texture, tiles: int = 3) -> np.ndarray:
    """Reference: the whole upscaled tile, repeated, the way the renderer upscaled it before parts existed."""
    from PIL import Image

    f, low = tex.factor, tex.low
    padded = np.pad(low, 2, mode="wrap")
    if not tex.wrap_y:  # rows continue their edge instead of wrapping (waves tile only sideways)
        padded = np.pad(np.pad(low, ((0, 0), (2, 2)), mode="wrap"), ((2, 2), (0, 0)), mode="edge")
    big = np.asarray(
        Image.fromarray(padded).resize((padded.shape[1] * f, padded.shape[0] * f), Image.Resampling.BICUBIC)
    )
    tile = big[2 * f : -2 * f, 2 * f : -2 * f]
    return np.tile(tile, (tiles, tiles))


def test_a_texture_that_tiles_only_sideways_matches_its_reference() -> None:
    rng = np.random.default_rng(5)
    tex = _Texture(rng.random((6, 13)).astype(np.float32) * 255, 4, wrap_y=False)
    th, tw = tex.shape
    reference = _full_tiling(tex)
    out = np.zeros((th, 30), np.uint8)
    for ox, reach in [(0, (0, 0)), (tw - 7, (0, 12)), (-11, (0, -20))]:
        tex.crop(0, ox, out, reach)
        x = ox % tw + tw
        np.testing.assert_array_equal(out, reference[th : th + th, x : x + 30])


def test_texture_windows_match_the_full_tiling_wherever_they_are_built() -> None:
    rng = np.random.default_rng(3)
    tex = _Texture(rng.random((9, 13)).astype(np.float32) * 255, 4)
    th, tw = tex.shape
    reference = _full_tiling(tex)
    out = np.zeros((20, 30), np.uint8)
    for oy, ox, reach in [(0, 0, (0, 0)), (5, 7, (3, 11)), (th - 3, tw - 5, (0, 0)), (-6, -9, (-4, -4))]:
        fresh = _Texture(tex.low.astype(np.float32), 4)  # a new part is built for this window alone
        fresh.crop(oy, ox, out, reach)
        y, x = oy % th + th, ox % tw + tw  # the same window in the middle copy of the reference tiling
        np.testing.assert_array_equal(out, reference[y : y + 20, x : x + 30])
    # Windows inside a part reuse it; windows outside build another, with the same pixels.
    tex.crop(0, 0, out, (0, 40))
    first = tex.part
    tex.crop(0, 30, out)
    assert tex.part is first
    np.testing.assert_array_equal(out, reference[th : th + 20, tw + 30 : tw + 60])
    tex.crop(th * 2 + 1, 3, out)
    assert tex.part is not first
    np.testing.assert_array_equal(out, reference[th + 1 : th + 21, tw + 3 : tw + 33])


def test_animations_ease_in_and_out() -> None:
    assert ease_out(0) == 0 and ease_out(1) == 1 and ease_out(0.5) > 0.5
    fade, none = Animation(kind="fade", duration_s=1), Animation(kind="none", duration_s=0)
    assert anim_state(fade, none, -0.1, 0, 5, False, 100) is None
    half = anim_state(fade, none, 0.5, 0, 5, False, 100)
    assert half is not None and half.opacity == pytest.approx(ease_out(0.5))
    slide = anim_state(Animation(kind="slide_up", duration_s=1), none, 0.0001, 0, 5, False, 100)
    assert slide is None or slide.dy > 7
    out = anim_state(none, fade, 4.75, 0, 5, False, 100)
    assert out is not None and out.opacity == pytest.approx(ease_out(0.25))
    held = anim_state(fade, none, 6.0, 0, 5, True, 100)  # past the end, held through the transition
    assert held is not None and held.opacity == 1
    typing = anim_state(Animation(kind="typewriter", duration_s=2), none, 1, 0, 5, False, 100)
    assert typing is not None and typing.reveal == pytest.approx(0.5)


def test_chunks_are_gop_aligned_and_cover_every_frame() -> None:
    for total, fps, secs in [
        (300, 30, 2.0),
        (301, 30, 2.0),
        (1000, 24, 5.0),
        (7, 30, 2.0),
        (18000, 30, 10.0),
    ]:
        ranges = chunk_ranges(total, fps, secs)
        assert ranges[0][0] == 0 and ranges[-1][1] == total
        for (_a, b), (c, _) in zip(ranges, ranges[1:], strict=False):
            assert b == c
        assert all(a % gop_frames(fps) == 0 for a, _ in ranges)
    assert chunk_ranges(0, 30, 2.0) == []


def test_every_background_kind_a_timeline_may_name_is_drawn() -> None:
    assert sorted(BACKGROUNDS) == sorted(get_args(BackgroundKind))


def test_every_layer_type_a_timeline_may_name_is_drawn() -> None:
    assert sorted(LAYERS) == sorted(LAYER_TYPES)
    assert sorted(LAYER_TYPES) == ["caption", "effect", "illustration", "image", "shape", "text"]


@pytest.mark.parametrize("kind", ABSTRACT)
def test_every_background_moves_and_is_deterministic(kind: str) -> None:
    scene = {"duration_s": 2, "background": {"kind": kind, "palette": ["#102030", "#a04060", "#f0c020"]}}
    tl = tl_for([scene])
    one, two = FrameSource(tl), FrameSource(tl)
    f10 = one.frame(10).buf.copy()
    f40 = one.frame(40).buf.copy()
    np.testing.assert_array_equal(two.frame(10).buf, f10)  # a fresh source, same pixels
    np.testing.assert_array_equal(one.frame(10).buf, f10)  # out of order, same pixels
    if kind != "solid":
        assert np.abs(f40.astype(int) - f10.astype(int)).mean() > 0.2
    assert 16 <= f10[:64].mean() <= 235


def test_palette_sets_the_colours() -> None:
    red = tl_for([{"duration_s": 1, "background": {"kind": "solid", "palette": ["#ff0000"]}}])
    rgb = yuv420p_to_rgb(FrameSource(red).frame(0).buf)
    np.testing.assert_allclose(rgb[10, 10], [255, 0, 0], atol=3)
    np.testing.assert_allclose(palette_array(["#ff0000"]), [[1, 0, 0]])


def test_text_is_drawn_inside_the_frame_at_every_aspect() -> None:
    long_text = "Supercalifragilistic words and a long line of text that must wrap without clipping"
    for w, h in [(192, 108), (108, 192), (128, 128)]:
        scene = {
            "duration_s": 1,
            "background": {"kind": "solid", "palette": ["#000000"]},
            "layers": [
                {
                    "type": "text",
                    "text": long_text,
                    "size": 200,
                    "x": 0.95,
                    "y": 0.05,
                    "shadow": False,
                    "animate_in": {"kind": "none"},
                }
            ],
        }
        y = FrameSource(tl_for([scene], w, h)).frame(0).y
        lit = np.argwhere(y > 60)
        assert len(lit) > 20, "the text is visible"
        margin = 2
        assert lit[:, 0].min() >= margin and lit[:, 0].max() < h - margin
        assert lit[:, 1].min() >= margin and lit[:, 1].max() < w - margin


def test_crossfade_transition_blends_the_two_scenes() -> None:
    black = {"duration_s": 1, "background": {"kind": "solid", "palette": ["#000000"]}}
    white = {
        "duration_s": 1,
        "background": {"kind": "solid", "palette": ["#ffffff"]},
        "transition": {"kind": "crossfade", "duration_s": 0.5},
    }
    src = FrameSource(tl_for([black, white]))
    before, during, after = src.frame(23).y.mean(), src.frame(30).y.mean(), src.frame(40).y.mean()
    assert before == pytest.approx(16, abs=1) and after == pytest.approx(235, abs=1)
    assert 40 < during < 210


@pytest.mark.parametrize("kind", ["wipe", "slide"])
def test_wipe_and_slide_split_the_frame(kind: str) -> None:
    black = {"duration_s": 1, "background": {"kind": "solid", "palette": ["#000000"]}}
    white = {
        "duration_s": 1,
        "background": {"kind": "solid", "palette": ["#ffffff"], "angle": 0},
        "transition": {"kind": kind, "duration_s": 0.5},
    }
    y = FrameSource(tl_for([black, white])).frame(30).y
    cols = y.mean(axis=0)
    assert cols.min() < 20 and cols.max() > 230
    assert np.all(np.diff((cols > 128).astype(int)) <= 0) or np.all(np.diff((cols > 128).astype(int)) >= 0)


def test_a_pooled_scene_serves_one_source_at_a_time() -> None:
    scene = {
        "duration_s": 2,
        "background": {"kind": "noise", "palette": ["#102030", "#a04060"]},
        "layers": [{"type": "text", "text": "Pooled"}],
    }
    tl = tl_for([scene])
    pool = ScenePool()
    first = FrameSource(tl, pool=pool)
    expected = first.frame(30).buf.copy()
    first.close()
    assert len(pool) == 1
    # Two sources at once (two chunks on two threads): one gets the prepared scene, the other prepares its own.
    a, b = FrameSource(tl, pool=pool), FrameSource(tl, pool=pool)
    np.testing.assert_array_equal(a.frame(30).buf, expected)
    np.testing.assert_array_equal(b.frame(30).buf, expected)
    assert (pool.hits, pool.misses) == (1, 2)
    assert len(pool) == 0
    a.close()
    b.close()
    assert len(pool) == 1  # one per scene and timeline
    other = tl_for([{**scene, "layers": [{"type": "text", "text": "Another timeline"}]}])
    FrameSource(other, pool=pool).frame(0)
    assert pool.hits == 1  # a different timeline never takes this one's scene


def test_the_pool_keeps_at_most_its_size() -> None:
    pool = ScenePool(size=2)
    for n in range(4):
        tl = tl_for(
            [
                {
                    "duration_s": 1,
                    "background": {"kind": "gradient"},
                    "layers": [{"type": "text", "text": f"{n}"}],
                }
            ]
        )
        source = FrameSource(tl, pool=pool)
        source.frame(0)
        source.close()
    assert len(pool) == 2


def test_a_pooled_scene_keeps_no_animation_frames() -> None:
    typewriter = Animation(kind="typewriter", duration_s=1.0)
    scene = {
        "duration_s": 2,
        "background": {"kind": "gradient"},
        "layers": [
            {"type": "text", "text": "Letters appear one by one", "animate_in": typewriter.model_dump()}
        ],
    }
    tl = tl_for([scene], 320, 180)
    pool = ScenePool()
    source = FrameSource(tl, pool=pool)
    for i in range(24):
        source.frame(i)
    assert source._scenes[0].layers[0]._cache  # the typewriter steps were made and cached while drawing
    source.close()
    pooled = pool.take((timeline_fingerprint(tl), 0))
    assert pooled is not None
    assert all(not layer._cache for layer in pooled.layers)  # only what a later chunk starts with is kept


def test_animation_frames_are_bounded_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from framecast.render.drawing import layers

    monkeypatch.setattr(layers, "ANIMATION_CACHE_BYTES", 200_000)
    scene = {
        "duration_s": 2,
        "background": {"kind": "solid"},
        "layers": [
            {
                "type": "text",
                "text": "A long line of text typed out",
                "animate_in": {"kind": "typewriter", "duration_s": 1.5},
            }
        ],
    }
    source = FrameSource(tl_for([scene], 640, 360))
    layer = None
    for i in range(36):
        source.frame(i)
        layer = source._scenes[0].layers[0]
        assert layer._cache_bytes <= 200_000 + max((s.nbytes for s in layer._cache.values()), default=0)
    assert layer is not None and layer._cache_bytes == sum(s.nbytes for s in layer._cache.values())
