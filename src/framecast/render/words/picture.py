"""What an illustrated scene shows besides its staging: the place, time and weather it carries on from
the scene before, and its words fitted into the band at the top of the frame.

Sentences of one prompt usually happen in one place: a sentence that names no setting, time or weather
keeps the previous scene's (or the whole prompt's), and one that names no subject but says what "it"
does keeps the previous subjects, doing what this sentence says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from framecast.domain.timeline import BackgroundKind, EffectKind, ShapeLayer, TextLayer, TimeOfDay
from framecast.render.drawing.animation import REFERENCE_SHORT_SIDE, SAFE_MARGIN
from framecast.render.drawing.effects import EFFECTS
from framecast.render.drawing.text import layout
from framecast.render.words.reading import Cast, Reading
from framecast.render.words.verbs import verbs_in

_PRONOUNS = frozenset("it they he she its their them his her this".split())
#: The top of the words band, by aspect, as a fraction of the height (9:16: below a phone's status bar
#: and a social app's header; 16:9 with letterbox bars: below the bar).
TOP = {"16:9": 0.06, "1:1": 0.06, "9:16": 0.075}
LETTERBOX_TOP = 0.115
#: How tall the words may be, by aspect.
BAND = {"16:9": 0.3, "1:1": 0.28, "9:16": 0.22}


@dataclass(frozen=True)
class World:
    """Where and when a scene happens, and who is in it."""

    setting: BackgroundKind
    time_of_day: TimeOfDay
    clouds: float
    effects: tuple[EffectKind, ...]
    cast: tuple[Cast, ...]


def _setting_of(reading: Reading) -> BackgroundKind | None:
    """The setting a sentence names, or that its subjects or its weather suggest (snow: a snowfield)."""
    if reading.scenery.setting:
        return reading.scenery.setting
    habitats = Counter(c.subject.habitat for c in reading.cast if c.subject.habitat)
    if habitats:
        return habitats.most_common(1)[0][0]
    return "snowfield" if "snow" in reading.scenery.effects else None


def first_world(overall: Reading, night: bool) -> World:
    """The world of the whole prompt: the setting it names or the one its subjects suggest."""
    s = overall.scenery
    setting: BackgroundKind = _setting_of(overall) or "meadow"
    implied = next((c.subject.time_of_day for c in overall.cast if c.subject.time_of_day), None)
    time: TimeOfDay = s.time_of_day or implied or ("night" if night else "day")
    if setting == "space":
        time = "night"
    return World(setting, time, 0.25, (), overall.cast[:2])


def next_world(reading: Reading, text: str, before: World, first: bool = False) -> World:
    """This sentence's world: what it names, the rest carried on from ``before`` (the previous scene's,
    or for the first scene the whole prompt's, of which it takes the place and time but not the weather:
    rain later in a story does not fall on its title)."""
    s = reading.scenery
    own = _setting_of(reading)
    setting = s.setting or (own if first and own else before.setting)
    implied = next((c.subject.time_of_day for c in reading.cast if c.subject.time_of_day), None)
    time = s.time_of_day or implied or before.time_of_day
    if setting == "space":
        time = "night"
    weather = tuple(e for e in s.effects if EFFECTS[e].weather) or tuple(
        e for e in before.effects if EFFECTS[e].weather
    )
    effects = tuple(dict.fromkeys((*s.effects, *weather)))
    clouds = s.clouds if s.clouds is not None else before.clouds
    if "snow" in effects and setting == "meadow":
        setting = "snowfield"  # a hill under snow is white
    if s.clouds is None and weather and not s.effects:
        clouds = max(clouds, 0.75)
    cast = reading.cast
    words = [w.strip(".,!?;:") for w in text.lower().split()]
    if not cast and before.cast:
        cast = before.cast
        if any(w in _PRONOUNS for w in words):  # "It sinks.": the subjects before do what this says
            verbs = [v for v in verbs_in(words) if v.motion is not None]
            cast = tuple(replace(c, motion=verbs[0].motion) if verbs and verbs[0].motion else c for c in cast)
    return World(setting, time, clouds, effects, cast)


def fit_words(
    layer: TextLayer, width: int, height: int, aspect: str, letterbox: bool
) -> tuple[TextLayer, float]:
    """``layer`` moved into the band at the top of the frame and shrunk until it fits the band; and the
    fraction of the height where the words end (nothing is placed above it)."""
    short = min(width, height)
    margin = int(SAFE_MARGIN * short)
    top = max(LETTERBOX_TOP if letterbox else 0.0, TOP.get(aspect, 0.06))
    band = BAND.get(aspect, 0.3) * height
    size = layer.size
    max_w = int(min(layer.max_width * width, width - 2.6 * margin))
    for _ in range(12):
        px = max(6, int(round(size * short / REFERENCE_SHORT_SIDE)))
        block = layout(layer.text, layer.font, layer.weight, px, max_w, int(height * 0.8), layer.align)
        pad = max(2, int(block.px * 0.3))
        tall = block.height + 2 * pad
        if tall <= band or size <= 24:
            break
        size *= 0.9
    centre = top + tall / 2 / height
    return layer.model_copy(update={"size": round(size, 2), "y": round(centre, 4)}), top + tall / height


def accent_under(accent: ShapeLayer, words_end: float) -> ShapeLayer:
    """The style's accent bar just under the words."""
    return accent.model_copy(update={"y": round(words_end + 0.012, 4)})
