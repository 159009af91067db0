"""The planner's output, pinned: the same prompt, options and seed plan the same timeline, field for field.

``fixtures/planned_timelines.json`` holds ``plan(prompt, options).model_dump(mode="json")`` for prompts and
options chosen to reach every branch of the planner (each style preset, each aspect, voiceover captions,
derived and given seeds, title-only videos, merged sentences, emoji and very long sentences). A refactor of
the planner must leave it unchanged; a deliberate change of the look regenerates it:

    PYTHONPATH=src python -m tests.render.test_planner_fixture
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from framecast.domain.options import VideoOptions
from framecast.render.words.planner import plan

FIXTURE = Path(__file__).parent / "fixtures" / "planned_timelines.json"

CASES: list[tuple[str, dict[str, Any]]] = [
    ("A calm ocean at dawn. Waves roll in.", {"duration_s": 6, "seed": 3}),
    (
        "Neon city at night. Rain falls on empty streets. The club opens at midnight.",
        {"duration_s": 12, "style": "neon", "seed": 4},
    ),
    (
        "The history of coffee. It began in Ethiopia. Traders carried it across the Red Sea.",
        {"duration_s": 15, "style": "documentary", "aspect": "9:16", "seed": 11},
    ),
    (
        "Launch day! Our rocket leaves the planet behind. Next stop: the stars.",
        {"duration_s": 10, "style": "cinematic", "aspect": "16:9", "fps": 24},
    ),
    (
        "Five tips for better sleep. Keep a steady schedule. Dim the lights. Leave your phone outside.",
        {"duration_s": 20, "style": "minimal", "aspect": "1:1", "fps": 25, "seed": 2},
    ),
    ("Summer sunset at the beach", {"duration_s": 1, "seed": 9}),
    (
        "A forest walk in spring. Flowers bloom along the path.",
        {"duration_s": 8, "style": "retro", "voiceover": True, "seed": 5},
    ),
    (
        "Introducing our new AI platform. It reads your data. It writes the report. You ship faster.",
        {"duration_s": 4, "style": "minimal", "seed": 1},
    ),
    ("🚀 Emoji only prompt 🎉🎉", {"duration_s": 5, "aspect": "9:16", "resolution": "360p"}),
    (
        "One very long sentence that keeps going and going, with many clauses, and commas, and ideas, "
        "and more words than any caption should ever hold at once, because people write like that sometimes.",
        {"duration_s": 30, "style": "cinematic", "seed": 8, "voiceover": True, "aspect": "9:16"},
    ),
    (
        "Stars. Galaxies. Nebulae. Black holes. Comets. Planets. Moons. Rockets. Astronauts. Orbits.",
        {"duration_s": 60, "fps": 60, "resolution": "1080p", "seed": 12},
    ),
    ("x", {"duration_s": 3, "style": "documentary", "seed": 0}),
    (
        "Autumn rain on the window; tea and a good book.",
        {"duration_s": 9, "style": "documentary", "aspect": "16:9", "seed": 21},
    ),
    (
        "Team training starts at six. Run, lift, stretch, repeat. Win the match on Saturday.",
        {"duration_s": 14, "style": "neon", "aspect": "1:1", "voiceover": True, "seed": 13},
    ),
    (
        "Grand opening of the cafe this Friday — free pastries for the first fifty guests!",
        {"duration_s": 7, "style": "retro", "aspect": "9:16", "fps": 30, "seed": 77},
    ),
    (
        "Meditation for beginners. Breathe in. Breathe out. Let the thoughts pass.",
        {"duration_s": 120, "resolution": "480p", "seed": 6},
    ),
    (
        "Wedding highlights: the vows, the first dance, the cake.\nStorm clouds gather over the skyline.",
        {"duration_s": 11, "style": "cinematic", "aspect": "1:1", "seed": 31},
    ),
    ("Luxury watches crafted in gold", {"duration_s": 16, "voiceover": True}),
    ("Snow falls over the quiet village. Winter frost on every window.", {"duration_s": 9, "seed": 14}),
    (
        "Snow. Ice. Frost. Winter. Snow again. More ice.",
        {"duration_s": 13, "style": "minimal", "fps": 24, "seed": 15},
    ),
]


def planned(prompt: str, opts: dict[str, Any]) -> dict[str, Any]:
    dumped: dict[str, Any] = plan(prompt, VideoOptions(**opts)).model_dump(mode="json")
    return dumped


def record() -> list[dict[str, Any]]:
    return [{"prompt": p, "options": o, "timeline": planned(p, o)} for p, o in CASES]


def load() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(FIXTURE.read_text())
    return data


@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_planner_plans_exactly_what_it_planned_before(case: int) -> None:
    want = load()[case]
    prompt, opts = CASES[case]
    assert (want["prompt"], want["options"]) == (prompt, opts)
    # Through JSON, as the fixture went: floats compare by their shortest repr, exactly.
    assert json.loads(json.dumps(planned(prompt, opts))) == want["timeline"]


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(record(), indent=1, sort_keys=True, ensure_ascii=False) + "\n")
