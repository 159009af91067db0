from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framecast.domain.errors import InvalidInput
from framecast.domain.options import VideoOptions
from framecast.domain.timeline import Timeline, parse_timeline, timeline_json_schema
from framecast.render.frames import FrameSource
from framecast.render.schema import schema_text

OPTS = VideoOptions(resolution="360p", fps=24, seed=3)


def test_options_fill_in_canvas_seed_and_voiceover() -> None:
    tl = parse_timeline(
        {"scenes": [{"duration_s": 2}]},
        VideoOptions(aspect="9:16", resolution="480p", fps=25, seed=9, voiceover=True, style="neon"),
    )
    assert (tl.canvas.width, tl.canvas.height, tl.canvas.fps) == (480, 854, 25)
    assert tl.seed == 9 and tl.audio.voiceover and tl.style == "neon"
    assert tl.total_frames == 50 and tl.duration_s == 2.0


def test_seed_is_derived_from_the_json_when_not_given() -> None:
    data = {"scenes": [{"duration_s": 1}]}
    a = parse_timeline(data, VideoOptions())
    b = parse_timeline(data, VideoOptions())
    c = parse_timeline({"scenes": [{"duration_s": 2}]}, VideoOptions())
    assert a.seed == b.seed != c.seed


def test_scene_frames_sum_to_the_rounded_duration() -> None:
    tl = parse_timeline({"scenes": [{"duration_s": 0.3}, {"duration_s": 0.35}, {"duration_s": 1.01}]}, OPTS)
    bounds = tl.scene_frames()
    assert bounds[0] == 0 and bounds == sorted(bounds) and len(set(bounds)) == 4
    assert tl.total_frames == round(1.66 * 24)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"scenes": [{"duration_s": -1}]}, "scenes.0.duration_s", "greater than 0"),
        ({"scenes": []}, "scenes", "at least 1"),
        ({}, "scenes", "required"),
        ({"scenes": [{"duration_s": 1, "colour": 1}]}, "scenes.0.colour", "not a known field"),
        (
            {"scenes": [{"duration_s": 1, "background": {"palette": ["red"]}}]},
            "scenes.0.background.palette.0",
            "#rrggbb",
        ),
        (
            {"scenes": [{"duration_s": 1, "layers": [{"type": "text", "text": "x", "size": "big"}]}]},
            "scenes.0.layers.0.size",
            "number",
        ),
        ({"scenes": [{"duration_s": 1, "layers": [{"type": "blob"}]}]}, "scenes.0.layers.0", "type must be"),
        (
            {"scenes": [{"duration_s": 1, "layers": [{"type": "text", "text": "  "}]}]},
            "scenes.0.layers.0.text",
            "spaces",
        ),
        ({"scenes": [{"duration_s": 400}, {"duration_s": 300}]}, "", "limit is 600"),
        ({"scenes": [{"duration_s": 1, "background": {"kind": "image"}}]}, "scenes.0.background", "asset_id"),
        ({"canvas": {"width": 33, "height": 40}, "scenes": [{"duration_s": 1}]}, "canvas", "even"),
        (
            {
                "scenes": [
                    {"duration_s": 1, "layers": [{"type": "text", "text": "x", "start_s": 2, "end_s": 1}]}
                ]
            },
            "scenes.0.layers.0",
            "after start_s",
        ),
    ],
)
def test_invalid_timelines_name_the_field_and_say_why(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_timeline(data, OPTS)
    assert (info.value.field or "") == field
    assert words in info.value.message
    assert info.value.message.startswith("Invalid timeline: ")


def test_schema_in_docs_is_current() -> None:
    schema = timeline_json_schema()
    assert schema["title"] == "Framecast timeline" and "scenes" in schema["properties"]
    doc = Path(__file__).resolve().parents[2] / "docs" / "timeline.schema.json"
    assert doc.read_text() == schema_text(), "run: python -m framecast.render.schema"
    json.loads(doc.read_text())


# -- property: anything either renders or is refused with a clear InvalidInput ------------------------------

colour = st.one_of(
    st.from_regex(r"#[0-9a-f]{6}", fullmatch=True), st.sampled_from(["red", "#12", "", "#GGGGGG"])
)
bad_number = st.one_of(st.floats(-2, 5, allow_nan=False), st.integers(-5, 50), st.just("x"), st.none())


def mostly(valid: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid nine times in ten (so most timelines get as far as rendering), otherwise anything."""
    return st.integers(0, 9).flatmap(lambda k: bad if k == 0 else valid)


number = mostly(st.floats(0, 1, allow_nan=False), bad_number)
animation = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["none", "fade", "slide_up", "slide_left", "scale", "typewriter", "spin"]),
        "duration_s": number,
    },
)
text_layer = st.fixed_dictionaries(
    {"type": st.just("text"), "text": st.text(min_size=0, max_size=40)},
    optional={
        "size": number,
        "x": number,
        "y": number,
        "color": colour,
        "font": st.sampled_from(["sans", "serif", "comic"]),
        "align": st.sampled_from(["left", "center", "right"]),
        "animate_in": animation,
        "animate_out": animation,
        "start_s": number,
        "end_s": number,
        "box": colour,
    },
)
shape_layer = st.fixed_dictionaries(
    {"type": st.just("shape")},
    optional={
        "shape": st.sampled_from(["rect", "circle", "line", "star"]),
        "width": number,
        "height": number,
        "x": number,
        "y": number,
        "color": colour,
        "animate_in": animation,
    },
)
caption_layer = st.fixed_dictionaries(
    {"type": st.just("caption"), "text": st.text(min_size=1, max_size=60)},
    optional={"start_s": number, "end_s": number},
)
illustration_layer = st.fixed_dictionaries(
    {
        "type": st.just("illustration"),
        "subject": st.sampled_from(["boat", "cat", "🚗", "zzqx", "", "red apple"]),
    },
    optional={
        "x": number,
        "y": number,
        "scale": mostly(st.floats(0.05, 1.5, allow_nan=False), bad_number),
        "motion": st.fixed_dictionaries(
            {},
            optional={
                "kind": st.sampled_from(
                    ["drift", "rise", "spin", "bloom", "orbit", "pour", "fly", "teleport"]
                ),
                "speed": number,
                "direction": st.sampled_from(["left", "right", "up"]),
            },
        ),
        "flip": st.booleans(),
        "depth": number,
    },
)
effect_layer = st.fixed_dictionaries(
    {"type": st.just("effect")},
    optional={
        "kind": st.sampled_from(["rain", "snow", "fog", "leaves", "fireflies", "confetti", "lava"]),
        "intensity": mostly(st.floats(0.1, 3, allow_nan=False), bad_number),
        "color": colour,
        "wind": number,
    },
)
background = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(
            [
                "gradient",
                "noise",
                "particles",
                "starfield",
                "waves",
                "bokeh",
                "solid",
                "plasma",
                "city",
                "sea",
                "room",
            ]
        ),
        "palette": st.lists(colour, min_size=0, max_size=7),
        "motion": number,
        "angle": number,
        "density": number,
        "time_of_day": st.sampled_from(["day", "night", "noon"]),
        "clouds": number,
    },
)
scene = st.fixed_dictionaries(
    {"duration_s": mostly(st.floats(0.05, 3, allow_nan=False), bad_number)},
    optional={
        "background": background,
        "layers": st.lists(
            st.one_of(text_layer, shape_layer, caption_layer, illustration_layer, effect_layer), max_size=4
        ),
        "camera": st.fixed_dictionaries(
            {},
            optional={"kind": st.sampled_from(["still", "push_in", "pan_left", "dolly"]), "amount": number},
        ),
        "transition": st.fixed_dictionaries(
            {},
            optional={
                "kind": st.sampled_from(["cut", "crossfade", "wipe", "slide", "zoom"]),
                "duration_s": number,
            },
        ),
        "narration": st.one_of(st.none(), st.text(max_size=30)),
    },
)
timeline = st.fixed_dictionaries(
    {"scenes": mostly(st.lists(scene, min_size=1, max_size=3), st.just([]))},
    optional={
        "seed": number,
        "canvas": st.fixed_dictionaries(
            {}, optional={"width": st.sampled_from([64, 96, 96, 33]), "height": st.sampled_from([64, 48])}
        ),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timeline)
def test_every_timeline_renders_or_is_refused_clearly(data: dict[str, Any]) -> None:
    data = {**data, "canvas": {"width": 64, "height": 48, **data.get("canvas", {})}}
    try:
        tl = parse_timeline(data, OPTS)
    except InvalidInput as exc:
        assert exc.message.startswith("Invalid timeline: ") and len(exc.message) > 25
        return
    assert isinstance(tl, Timeline)
    src = FrameSource(tl)
    for k in sorted({0, tl.total_frames // 2, tl.total_frames - 1}):
        planes = src.frame(k)
        assert planes.y.shape == (tl.canvas.height, tl.canvas.width)
