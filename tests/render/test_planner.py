from __future__ import annotations

import pytest

from framecast.domain.options import VideoOptions
from framecast.domain.timeline import Timeline
from framecast.render.words.planner import plan, sentences

PROMPTS = [
    "A calm ocean at dawn. Waves roll in.",
    "Neon city at night. Rain falls on empty streets. The club opens at midnight.",
    "The history of coffee. It began in Ethiopia. Traders carried it across the Red Sea.",
    "Launch day! Our rocket leaves the planet behind. Next stop: the stars.",
    "Five tips for better sleep. Keep a steady schedule. Dim the lights. Leave your phone outside.",
    "Summer sunset at the beach",
    "A forest walk in spring. Flowers bloom along the path.",
    "Snow falls over the quiet village on Christmas Eve.",
    "Introducing our new AI platform. It reads your data. It writes the report. You ship faster.",
    "Fire and lava pour from the volcano!",
    "How to bake sourdough bread: mix, fold, proof, bake.",
    "Quarterly results: revenue up 20 percent, costs down 5 percent, record customer growth.",
    "A desert caravan crosses the dunes under a burning sun.",
    "Team training starts at six. Run, lift, stretch, repeat. Win the match on Saturday.",
    "Meditation for beginners. Breathe in. Breathe out. Let the thoughts pass.",
    "The mountains call. Pack light. Climb high. Watch the valley wake up.",
    "DNA is the code of life. Every cell carries a copy.",
    "Grand opening of the cafe this Friday — free pastries for the first fifty guests!",
    "x",
    "🚀 Emoji only prompt 🎉🎉",
    "One very long sentence that keeps going and going, with many clauses, and commas, and ideas, "
    "and more words than any caption should ever hold at once, because people write like that sometimes.",
    "Stars. Galaxies. Nebulae. Black holes. Comets. Planets. Moons. Rockets. Astronauts. Orbits.",
    "Luxury watches crafted in gold",
    "Pizza night with friends in the kitchen",
    "An old museum tells the story of an ancient empire.",
    "Electric guitars and synths light up the arcade party",
    "Autumn rain on the window; tea and a good book.",
    "Our startup helps hospitals schedule nurses. Less paperwork. More care.",
    "Wedding highlights: the vows, the first dance, the cake.",
    "Storm clouds gather over the city skyline.",
    "Winter sale ends Sunday",
    "Learn Python in ten minutes a day.",
]


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
def test_every_prompt_plans_a_valid_timeline_of_exact_length(aspect: str) -> None:
    for k, prompt in enumerate(PROMPTS):
        options = VideoOptions(duration_s=3 + k % 9, aspect=aspect, fps=24, resolution="360p")  # type: ignore[arg-type]
        tl = plan(prompt, options)
        Timeline.model_validate(tl.model_dump())  # round-trips through JSON-able data
        assert tl.total_frames == round(options.duration_s * 24)
        assert tl.canvas.aspect == aspect
        assert tl.scenes[0].layers, "the title card shows the title"


def test_plans_are_deterministic_by_seed_and_vary_with_it() -> None:
    a = plan(PROMPTS[1], VideoOptions(seed=4))
    b = plan(PROMPTS[1], VideoOptions(seed=4))
    c = plan(PROMPTS[1], VideoOptions(seed=5))
    assert a == b
    assert a != c
    assert plan(PROMPTS[1], VideoOptions()) == plan(PROMPTS[1], VideoOptions())  # seed from the prompt


def test_varied_prompts_give_varied_videos() -> None:
    looks = set()
    kinds = set()
    styles = set()
    for prompt in PROMPTS:
        tl = plan(prompt, VideoOptions(duration_s=10))
        last = tl.scenes[-1].background
        looks.add((last.kind, last.time_of_day, tuple(last.palette)))
        kinds.update(s.background.kind for s in tl.scenes)
        styles.add(tl.style)
    assert len(looks) >= 12
    settings = {
        "sea",
        "beach",
        "city",
        "forest",
        "desert",
        "mountains",
        "meadow",
        "snowfield",
        "space",
        "room",
    }
    assert len(kinds & settings) >= 8, kinds  # prompts that name places are drawn there
    assert len(kinds - settings) >= 3, kinds  # the others keep the abstract backgrounds
    assert len(styles) == 5


def test_lexicon_picks_the_look_from_the_words() -> None:
    space = plan("Rockets fly to distant galaxies and stars.", VideoOptions(seed=1, style="cinematic"))
    assert space.scenes[0].background.kind == "space"
    ocean = plan("The ocean waves at the beach.", VideoOptions(seed=1, style="documentary"))
    assert ocean.scenes[0].background.kind == "beach"
    # Words that name nothing to show keep the themes' abstract looks.
    calm = plan("Calm, peaceful and quiet. Breathe slowly.", VideoOptions(seed=1, style="documentary"))
    assert "#203a43" in calm.scenes[0].background.palette
    assert not any(layer.type == "illustration" for s in calm.scenes for layer in s.layers)


def test_sentences_become_scenes_after_the_title_card() -> None:
    tl = plan("Title here. One. Two. Three.", VideoOptions(duration_s=12, seed=1, style="minimal"))
    texts = [layer.text for s in tl.scenes for layer in s.layers if layer.type == "text"]
    assert texts == ["Title here", "One.", "Two.", "Three."]
    short = plan("Title here. One. Two. Three.", VideoOptions(duration_s=4, seed=1, style="minimal"))
    assert len(short.scenes) < 4  # too short for every sentence: merged


def test_durations_are_weighted_by_text_length() -> None:
    tl = plan(
        "Title. Short. This sentence is a great deal longer than the one before it, by far.",
        VideoOptions(duration_s=20, seed=2, style="minimal"),
    )
    assert tl.scenes[2].duration_s > tl.scenes[1].duration_s


def test_voiceover_plans_narration_and_captions() -> None:
    tl = plan(
        "Title. The first point. The second point.", VideoOptions(duration_s=10, voiceover=True, seed=1)
    )
    assert tl.audio.voiceover
    assert all(s.narration for s in tl.scenes)
    assert any(layer.type == "caption" for layer in tl.scenes[1].layers)


def test_a_theme_near_360_degrees_plans_for_every_seed() -> None:
    # The sport theme's angle is 340: the planner's jitter of up to 25 degrees once made an angle
    # over 360, which the timeline refuses, so a quarter of the seeds of such prompts could not plan.
    for seed in range(60):
        tl = plan("Win the match on Saturday.", VideoOptions(duration_s=3, seed=seed))
        assert all(-360 <= s.background.angle <= 360 for s in tl.scenes)


def test_sentence_splitting() -> None:
    assert sentences("One. Two!  Three?\nFour") == ["One.", "Two!", "Three?", "Four"]
    assert sentences("   ") == ["Untitled"]
