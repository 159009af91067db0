"""The prompt on screen: subjects from the illustration set, in settings, moved by their verbs, with
effects, camera moves and titles that are whole phrases placed clear of the picture."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
from tests.render.conftest import tiny

from framecast.domain.errors import TaskFailed
from framecast.domain.options import VideoOptions
from framecast.domain.timeline import (
    CameraKind,
    EffectKind,
    IllustrationLayer,
    MotionKind,
    TextLayer,
    Timeline,
    parse_timeline,
)
from framecast.render import artset
from framecast.render.drawing.animation import SAFE_MARGIN
from framecast.render.drawing.artwork import RASTERS
from framecast.render.drawing.backgrounds import BACKGROUNDS
from framecast.render.drawing.camera import CAMERAS, STILL, view_at
from framecast.render.drawing.effects import EFFECTS
from framecast.render.drawing.illustrations import IllustrationRenderer
from framecast.render.drawing.layers import LayerRenderer
from framecast.render.drawing.motion import MOTIONS
from framecast.render.drawing.settings import PAINTERS
from framecast.render.drawing.text import layout
from framecast.render.encoding.chunks import chunk_ranges
from framecast.render.encoding.encode import decode_frames, join_chunks
from framecast.render.frames import FrameSource
from framecast.render.video import render_video
from framecast.render.words.planner import plan, sentences
from framecast.render.words.subjects import subject_index
from framecast.render.words.titles import DANGLING, PHRASE_STARTS, title_of

OPTS = VideoOptions(resolution="360p", fps=24, seed=5)

#: Prompts and the subjects each names (icon names of the set), scene by scene after the title card.
NAMED: list[tuple[str, list[str]]] = [
    ("A paper boat drifting down a rainy street.", ["sailboat"]),
    ("Two cats and a dog play in the kitchen.", ["cat", "dog"]),
    ("A red car drives through the city at night.", ["automobile"]),
    ("Elephants walk across the desert at dawn.", ["elephant"]),
    ("A woman surfing at the beach.", ["woman-surfing"]),
    ("The kitty sleeps next to an automobile.", ["cat", "automobile"]),
    ("Balloons rise over the park.", ["balloon"]),
    ("A rocket launches into space.", ["rocket"]),
    ("Pizza and coffee on the table.", ["pizza", "hot-beverage"]),
    ("Dolphins swim in the sea. A whale sings.", ["dolphin", "whale"]),
    ("A bus and a taxi pass the station.", ["bus", "taxi"]),
    ("An owl and a fox in the woods at night.", ["owl", "fox"]),
]

#: A verb and the way it moves its subject: sideways, up or down (the box's centre, camera held still).
VERBS: list[tuple[str, str, str]] = [
    ("A car drives along the road.", "automobile", "sideways"),
    ("A sailboat sails on the lake.", "sailboat", "sideways"),
    ("A horse runs across the field.", "horse", "sideways"),
    ("A paper boat drifts down the street.", "sailboat", "sideways"),
    ("A balloon rises over the park.", "balloon", "up"),
    ("A rocket launches from the desert.", "rocket", "up"),
    ("A bird flies over the meadow.", "bird", "up"),
    ("A ghost floats in the room.", "ghost", "up"),
    ("An apple falls in the garden.", "red-apple", "down"),
    ("An anchor sinks in the sea.", "anchor", "down"),
]


def _illustrations(tl: Timeline) -> list[list[IllustrationLayer]]:
    return [[layer for layer in s.layers if isinstance(layer, IllustrationLayer)] for s in tl.scenes]


def _still(tl: Timeline) -> Timeline:
    scenes = [
        s.model_copy(update={"camera": s.camera.model_copy(update={"kind": "still"})}) for s in tl.scenes
    ]
    return tl.model_copy(update={"scenes": scenes})


# -- the set and its words ---------------------------------------------------------------------------------


def test_every_noun_the_set_can_show_is_reachable() -> None:
    index = subject_index()
    assert len(index.nouns) >= 1500, len(index.nouns)
    for word, icon in [
        ("automobile", "automobile"),
        ("car", "automobile"),
        ("cars", "automobile"),
        ("kitty", "cat"),
        ("kittens", "cat"),
        ("puppies", "dog"),
        ("sailboat", "sailboat"),
        ("boats", "sailboat"),
        ("butterflies", "butterfly"),
        ("mice", "mouse"),
        ("t-rex", "t-rex"),
        ("ice cream", "ice-cream"),
        ("⛵", "sailboat"),
        ("red apple", "red-apple"),
    ]:
        found = index.lookup(word)
        assert found is not None and found.icon == icon, (word, found)
    for word in ("zzqx", "the", "quickly", "happy", "red", "night"):
        assert index.lookup(word) is None, word
    # Every subject of the index is a drawable icon of the set.
    art = artset.icon_set()
    assert all(s.icon in art for s in index.words.values())


@pytest.mark.parametrize("prompt,icons", NAMED)
def test_each_named_subject_is_an_illustration_layer_of_the_planned_timeline(
    prompt: str, icons: list[str]
) -> None:
    tl = plan(prompt, VideoOptions(duration_s=8, seed=3))
    drawn = {layer.subject for scene in _illustrations(tl) for layer in scene}
    assert set(icons) <= drawn, (prompt, drawn)
    # ...in the scene of its sentence (the title card shows the first sentence's).
    parts = sentences(prompt)
    first = {layer.subject for layer in _illustrations(tl)[0]}
    if len(parts) == 1:
        assert set(icons) <= first
    Timeline.model_validate(tl.model_dump(mode="json"))


def test_several_subjects_share_a_scene_and_plurals_are_several() -> None:
    tl = plan("Three birds and a cat in the garden.", VideoOptions(duration_s=6, seed=2))
    subjects = [layer.subject for layer in _illustrations(tl)[0]]
    assert subjects.count("bird") == 3 and subjects.count("cat") == 1
    assert len({(layer.x, layer.y) for layer in _illustrations(tl)[0]}) == 4  # each in its own place


@pytest.mark.parametrize(
    "prompt,setting,time",
    [
        ("A paper boat drifting down a rainy street.", "city", None),
        ("Fireflies rising over a dark forest pond.", "lake", "night"),
        ("Camels cross the desert dunes at sunset.", "desert", "sunset"),
        ("Snow on the mountains at dawn.", "mountains", "dawn"),
        ("A cup of tea in the kitchen.", "room", None),
        ("An astronaut floats in outer space.", "space", "night"),
        ("Waves roll onto the beach.", "beach", None),
        ("Whales swim in the ocean.", "sea", None),
        ("A walk in the forest.", "forest", None),
    ],
)
def test_settings_come_from_the_words(prompt: str, setting: str, time: str | None) -> None:
    tl = plan(prompt, VideoOptions(duration_s=6, seed=1, style="minimal"))
    bg = tl.scenes[0].background
    assert bg.kind == setting
    if time is not None:
        assert bg.time_of_day == time


@pytest.mark.parametrize(
    "prompt,effect",
    [
        ("Rain on the city.", "rain"),
        ("Snow falls on the village.", "snow"),
        ("A foggy morning by the lake.", "fog"),
        ("Autumn leaves in the park.", "leaves"),
        ("Fireflies in the meadow.", "fireflies"),
        ("Bubbles rise in the aquarium.", "bubbles"),
        ("Sparks fly from the campfire.", "sparks"),
        ("Stars over the desert.", "stars"),
        ("Smoke rises from the chimney.", "smoke"),
        ("A birthday party in the kitchen.", "confetti"),
    ],
)
def test_effects_come_from_the_words(prompt: str, effect: str) -> None:
    tl = plan(prompt, VideoOptions(duration_s=5, seed=1))
    kinds = {layer.kind for s in tl.scenes for layer in s.layers if layer.type == "effect"}
    assert effect in kinds, (prompt, kinds)


# -- motion: the box moves the way the verb says, in the decoded video ---------------------------------------


def _box_centre(box: tuple[int, int, int, int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


@pytest.mark.slow
@pytest.mark.parametrize("prompt,icon,way", VERBS)
def test_in_the_decoded_video_the_subject_is_in_its_box_and_moves_as_its_verb_says(
    tmp_path: Path, prompt: str, icon: str, way: str
) -> None:
    tl = _still(tiny(plan(prompt, VideoOptions(duration_s=4, fps=24, seed=4, resolution="360p")), 320, 180))
    i, scene = next(
        (k, s) for k, s in enumerate(tl.scenes) if any(getattr(x, "subject", "") == icon for x in s.layers)
    )
    layer = next(x for x in scene.layers if getattr(x, "subject", "") == icon)
    assert isinstance(layer, IllustrationLayer)
    # The same timeline without the subject: where the two differ is where the subject is drawn.
    without = tl.model_copy(
        update={
            "scenes": [
                s if k != i else s.model_copy(update={"layers": [x for x in s.layers if x is not layer]})
                for k, s in enumerate(tl.scenes)
            ]
        }
    )
    render_video(tl, tmp_path / "with.mp4")
    decoded = list(decode_frames(tmp_path / "with.mp4"))
    bare = FrameSource(without)
    drawn = IllustrationRenderer(layer, 320, 180, scene.duration_s, 24)
    bounds = tl.scene_frames()
    first, last = bounds[i] + int(0.2 * (bounds[i + 1] - bounds[i])), bounds[i + 1] - 2
    centres = []
    for f in (first, last):
        t = (f - bounds[i]) / 24
        box = drawn.box_at(t, STILL)
        assert box is not None
        diff = np.abs(decoded[f][:180].astype(int) - bare.frame(f).y.astype(int))
        x0, y0, x1, y1 = (max(0, v) for v in box)
        inside = diff[y0:y1, x0:x1]
        assert inside.size and (inside > 10).mean() > 0.08, "the subject's pixels are in its box"
        outside = diff.copy()
        outside[max(0, y0 - 4) : y1 + 4, max(0, x0 - 4) : x1 + 4] = 0
        assert (outside > 24).mean() < 0.02, "and nowhere else"
        ys, xs = np.nonzero(diff * (diff > 24))
        centres.append((xs.mean(), ys.mean()))
        assert abs(xs.mean() - _box_centre(box)[0]) < (x1 - x0) * 0.35
    (xa, ya), (xb, yb) = centres
    dx, dy = xb - xa, yb - ya
    if way == "sideways":
        assert abs(dx) > 12 and abs(dx) > 2 * abs(dy), (dx, dy)
        going = layer.motion.direction or "left"
        assert (dx > 0) == (going == "right")
    elif way == "up":
        assert dy < -6, (dx, dy)
    else:
        assert dy > 6, (dx, dy)


def test_every_motion_moves_or_changes_its_subject() -> None:
    for kind in MOTIONS:
        if kind == "none":
            continue
        data = {
            "canvas": {"width": 320, "height": 180},
            "scenes": [
                {
                    "duration_s": 3,
                    "background": {"kind": "solid", "palette": ["#203040"]},
                    "layers": [
                        {
                            "type": "illustration",
                            "subject": "star",
                            "x": 0.5,
                            "y": 0.5,
                            "scale": 0.4,
                            "motion": {"kind": kind},
                            "animate_in": {"kind": "none"},
                        }
                    ],
                }
            ],
        }
        src = FrameSource(parse_timeline(data, OPTS))
        frames = [src.frame(k).buf.copy() for k in range(6, 72, 6)]
        changes = [np.abs(a.astype(int) - b).mean() for a, b in zip(frames, frames[1:], strict=False)]
        assert max(changes) > 0.05, kind


# -- effects, settings, camera ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(EFFECTS))
def test_effects_change_pixels_over_time(kind: str) -> None:
    scene: dict[str, Any] = {"duration_s": 3, "background": {"kind": "solid", "palette": ["#304050"]}}
    bare = FrameSource(parse_timeline({"canvas": {"width": 320, "height": 180}, "scenes": [scene]}, OPTS))
    data = {
        "canvas": {"width": 320, "height": 180},
        "scenes": [{**scene, "layers": [{"type": "effect", "kind": kind, "intensity": 1.5}]}],
    }
    src = FrameSource(parse_timeline(data, OPTS))
    a, b = src.frame(24).buf.copy(), src.frame(48).buf.copy()
    assert (np.abs(a.astype(int) - bare.frame(24).buf) > 6).sum() >= 40, "the effect draws something"
    assert (np.abs(a.astype(int) - b) > 6).sum() >= 20, "and it moves"
    np.testing.assert_array_equal(FrameSource(parse_timeline(data, OPTS)).frame(48).buf, b)  # by seed


@pytest.mark.parametrize("kind", sorted(PAINTERS))
def test_every_setting_is_drawn_lit_by_its_time_and_moves_with_the_camera(kind: str) -> None:
    def frames(time: str, camera: str) -> tuple[np.ndarray, np.ndarray]:
        data = {
            "canvas": {"width": 192, "height": 108},
            "scenes": [
                {
                    "duration_s": 2,
                    "background": {"kind": kind, "time_of_day": time},
                    "camera": {"kind": camera},
                }
            ],
        }
        src = FrameSource(parse_timeline(data, OPTS))
        return src.frame(2).buf.copy(), src.frame(46).buf.copy()

    day, day_end = frames("day", "pan_left")
    night, _ = frames("night", "pan_left")
    if kind != "space":  # always night
        assert day[:108].mean() > night[:108].mean() + 8, "night is darker than day"
    assert np.abs(day.astype(int) - day_end).mean() > 0.5, "a pan moves the picture"
    again, _ = frames("day", "pan_left")
    np.testing.assert_array_equal(day, again)


def test_registries_agree_with_the_timeline_names() -> None:
    assert sorted(MOTIONS) == sorted(get_args(MotionKind))
    assert sorted(EFFECTS) == sorted(get_args(EffectKind))
    assert sorted(CAMERAS) == sorted(get_args(CameraKind))
    assert set(PAINTERS) <= set(BACKGROUNDS)


def test_a_pan_moves_the_ground_more_than_the_sky() -> None:
    view = view_at(
        plan("A dog in the park.", OPTS).scenes[0].camera.model_copy(update={"kind": "pan_left"}),
        2.0,
        2.0,
        1000,
    )
    assert view.shift(1.0) > view.shift(0.5) > view.shift(0.0) > 0


# -- titles and words ---------------------------------------------------------------------------------------

TITLE_PROMPTS = [
    "A paper boat drifting down a rainy street",
    "One very long sentence that keeps going and going, with many clauses, and commas, and ideas.",
    "The quick brown fox jumps over the lazy dog while the farmer watches from the old wooden porch at dawn",
    "Introducing the brand new electric bicycle that folds into a backpack and rides for eighty kilometres",
    "Launch day! Our rocket leaves the planet behind.",
    "Wedding highlights: the vows, the first dance, the cake.",
    "x",
    "🚀 Emoji only prompt 🎉🎉",
]


@pytest.mark.parametrize("prompt", TITLE_PROMPTS)
def test_titles_are_whole_phrases_never_cut_mid_word_or_mid_phrase(prompt: str) -> None:
    parts = sentences(prompt)
    first = parts[0].rstrip(".!?;:")
    title = title_of(parts)
    words, said = title.split(), first.split()
    assert said[: len(words)] == words or said[: len(words)][:-1] == words[:-1], (title, first)
    if len(words) < len(said):
        cut_after = said[len(words) - 1].lower().strip(",.;:")
        following = said[len(words)].lower().strip(",.;:")
        assert cut_after not in DANGLING, title
        assert following in PHRASE_STARTS or said[len(words) - 1].endswith((",", ":", ";")), title
    tl = plan(prompt, VideoOptions(duration_s=6, seed=2))
    shown = next(x for x in tl.scenes[0].layers if isinstance(x, TextLayer))
    assert shown.text == title
    block = layout(title, shown.font, shown.weight, 60, 1100, 600, shown.align)
    assert " ".join(" ".join(block.lines).split()) == " ".join(title.split()), "wrapped at spaces only"


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
@pytest.mark.parametrize("style", ["cinematic", "minimal", "neon", "retro", "documentary"])
def test_words_stay_in_the_safe_area_and_never_cover_a_subject(aspect: str, style: str) -> None:
    prompts = [
        "A balloon rises over the park while two dogs run across the grass.",
        "A rocket launches from the desert. Birds fly over the mountains.",
        "Three cats sleep in the kitchen. A fish swims in the sea.",
    ]
    for prompt in prompts:
        tl = plan(prompt, VideoOptions(duration_s=8, seed=9, aspect=aspect, style=style, resolution="360p"))  # type: ignore[arg-type]
        w, h = tl.canvas.width, tl.canvas.height
        margin = int(SAFE_MARGIN * min(w, h))
        for scene in tl.scenes:
            texts = [x for x in scene.layers if isinstance(x, TextLayer)]
            subjects = [x for x in scene.layers if isinstance(x, IllustrationLayer)]
            for text in texts:
                from framecast.render.drawing.layers import LAYERS, LayerContext

                drawn = LAYERS["text"].make(text, LayerContext(w, h, scene.duration_s, 24))
                assert isinstance(drawn, LayerRenderer)
                tx0, ty0 = drawn.cx - drawn.sprite.width / 2, drawn.cy - drawn.sprite.height / 2
                tx1, ty1 = tx0 + drawn.sprite.width, ty0 + drawn.sprite.height
                assert (
                    tx0 >= margin - 1
                    and ty0 >= margin - 1
                    and tx1 <= w - margin + 1
                    and ty1 <= h - margin + 1
                )
                for subject in subjects:
                    r = IllustrationRenderer(subject, w, h, scene.duration_s, 24)
                    for k in range(9):
                        t = scene.duration_s * k / 8
                        box = r.box_at(t, view_at(scene.camera, t, scene.duration_s, w))
                        if box is None:
                            continue
                        # The glyphs sit inside the sprite's padding: the box may touch the padding.
                        pad = drawn.sprite.height * 0.12
                        overlap = box[1] < ty1 - pad and box[3] > ty0 + pad and box[0] < tx1 and box[2] > tx0
                        assert not overlap, (prompt, text.text, subject.subject, t, box, (tx0, ty0, tx1, ty1))


# -- robustness, determinism, speed -------------------------------------------------------------------------


def test_unknown_words_do_not_fail_a_render() -> None:
    for prompt in ("Zxqv blorf wibble.", "The flibbertigibbet quarks.", "!!!", "A zorgon drives a car."):
        tl = plan(prompt, VideoOptions(duration_s=2, seed=1, resolution="360p"))
        src = FrameSource(tiny(tl))
        src.frame(0)
        src.frame(tl.total_frames - 1)
    data = {
        "canvas": {"width": 96, "height": 64},
        "scenes": [
            {
                "duration_s": 1,
                "background": {"kind": "solid"},
                "layers": [{"type": "illustration", "subject": "zzqx"}],
            }
        ],
    }
    bare = {
        "canvas": {"width": 96, "height": 64},
        "scenes": [{"duration_s": 1, "background": {"kind": "solid"}}],
    }
    np.testing.assert_array_equal(
        FrameSource(parse_timeline(data, OPTS)).frame(5).buf,
        FrameSource(parse_timeline(bare, OPTS)).frame(5).buf,
    )


def test_a_json_timeline_may_use_illustrations_effects_settings_and_cameras(tmp_path: Path) -> None:
    data = {
        "canvas": {"width": 320, "height": 180},
        "scenes": [
            {
                "duration_s": 2,
                "background": {"kind": "city", "time_of_day": "night", "clouds": 0.8},
                "camera": {"kind": "push_in", "amount": 1.5},
                "layers": [
                    {
                        "type": "illustration",
                        "subject": "boat",
                        "x": 0.7,
                        "y": 0.7,
                        "scale": 0.3,
                        "motion": {"kind": "drift", "direction": "left"},
                    },
                    {"type": "illustration", "subject": "kitty", "x": 0.3, "y": 0.7, "flip": True},
                    {"type": "effect", "kind": "rain", "intensity": 2, "color": "#aaccff", "wind": -0.5},
                ],
            }
        ],
    }
    tl = parse_timeline(data, OPTS)
    assert render_video(tl, tmp_path / "a.mp4").frames == tl.total_frames


@pytest.mark.slow
def test_an_illustrated_video_renders_in_chunks_exactly_as_in_one_go(tmp_path: Path) -> None:
    tl = tiny(
        plan(
            "A red car drives through the rainy city. Balloons rise over the park. Fireflies glow in the forest.",
            VideoOptions(duration_s=6, fps=24, seed=8, style="cinematic", resolution="360p"),
        ),
        320,
        180,
    )
    assert any(s.camera.kind != "still" for s in tl.scenes)
    render_video(tl, tmp_path / "single.mp4")
    paths = []
    for k, (a, b) in enumerate(chunk_ranges(tl.total_frames, 24, 2.0)):
        paths.append(tmp_path / f"c{k}.mp4")
        render_video(tl, paths[-1], start_frame=a, end_frame=b)
    join_chunks(paths, tmp_path / "joined.mp4")
    for a, b in zip(
        decode_frames(tmp_path / "single.mp4"), decode_frames(tmp_path / "joined.mp4"), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_subjects_are_rasterised_once_per_size_never_per_frame_and_sharp_when_large() -> None:
    data = {
        "canvas": {"width": 1920, "height": 1080},
        "scenes": [
            {
                "duration_s": 1,
                "background": {"kind": "solid"},
                "layers": [
                    {"type": "illustration", "subject": "sailboat", "scale": 2.0, "motion": {"kind": "drift"}}
                ],
            }
        ],
    }
    src = FrameSource(parse_timeline(data, OPTS))
    src.frame(0)
    assert ("sailboat", 2160) in RASTERS._items, (
        "drawn from the vector art at the size shown (4x zoom at 1080p)"
    )
    misses = RASTERS.misses
    for k in range(1, 24):
        src.frame(k)
    assert RASTERS.misses == misses, "frames only blend"
    edge = RASTERS._items[("sailboat", 2160)][..., 3]
    soft = ((edge > 8) & (edge < 247)).sum() / max(1, (edge >= 247).sum())
    assert soft < 0.01, "edges a pixel wide, not an upscaled blur"


def test_a_missing_illustration_set_names_the_make_target(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    artset.node_modules.cache_clear()
    monkeypatch.setattr(artset, "_candidates", lambda: [tmp_path / "node_modules"])
    try:
        with pytest.raises(TaskFailed) as info:
            artset.node_modules()
        assert info.value.code == "illustrations_unavailable"
        assert "make node-deps" in info.value.message
    finally:
        artset.node_modules.cache_clear()


def test_render_modules_import_one_another_without_cycles() -> None:
    root = Path(__file__).resolve().parents[2] / "src"
    graph: dict[str, set[str]] = {}
    for path in (root / "framecast" / "render").rglob("*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("framecast.render.")
            ):
                graph[name].add(node.module)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            assert state.get(nxt) != 1, " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
