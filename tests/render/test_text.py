"""Text with characters the chosen font lacks: fallback fonts draw them, nothing becomes an empty box."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import IN_CI

from framecast.render.drawing.text import layout, load_font, render_block, runs


def _symbola_or_skip() -> None:
    from framecast.render.drawing.text import _fallback_paths

    if not any("Symbola" in path for path in _fallback_paths()):
        if IN_CI:
            pytest.fail("fonts-symbola is not installed (make test installs it)")
        pytest.skip("fonts-symbola is not installed")


def test_plain_latin_text_is_one_run_in_the_chosen_font() -> None:
    font = load_font("sans", "bold", 40)
    assert runs(font, "Zürich, café") == [(font, "Zürich, café")]


def test_emoji_are_drawn_with_a_fallback_font_in_the_same_line() -> None:
    _symbola_or_skip()
    font = load_font("sans", "bold", 40)
    parts = runs(font, "Sea 🌊 air")
    assert [text for _, text in parts] == ["Sea ", "🌊", " air"]
    assert parts[0][0] is font and parts[2][0] is font
    assert "Symbola" in str(getattr(parts[1][0], "path", ""))


def test_characters_no_font_has_are_left_out_not_drawn_as_boxes() -> None:
    font = load_font("sans", "regular", 40)
    missing = "\ue000"  # private use: no installed font draws it
    assert "".join(text for _, text in runs(font, f"a{missing}b")) == "ab"
    with_gap = render_block(layout(f"a{missing}b", "sans", "regular", 40, 800, 200, "left"), (255, 255, 255))
    plain = render_block(layout("ab", "sans", "regular", 40, 800, 200, "left"), (255, 255, 255))
    assert with_gap.size == plain.size
    np.testing.assert_array_equal(np.asarray(with_gap), np.asarray(plain))


def test_an_emoji_line_draws_the_glyph_beside_the_words() -> None:
    _symbola_or_skip()
    block = layout("Go 🚀", "sans", "bold", 60, 800, 200, "left")
    words = layout("Go", "sans", "bold", 60, 800, 200, "left")
    assert block.width > words.width + 30, "the rocket takes room on the line"
    alpha = np.asarray(render_block(block, (255, 255, 255), shadow=False))[..., 3]
    right = alpha[:, words.width + 20 :]
    assert (right > 128).sum() > 200, "the rocket is drawn, with ink"
    # Variation selectors (the invisible half of many emoji) take no room.
    assert layout("Go 🚀\ufe0f", "sans", "bold", 60, 800, 200, "left").width == block.width
