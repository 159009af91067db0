"""Verbs to motions: what a sentence says its subjects do ("drifting", "flew", "takes off").

Every form of each verb is known (``inflect.verb_forms``), and a few two-word verbs ("take off", "light
up"). A verb the table does not know moves nothing; the subject then does what its kind does by itself
(``subjects.Subject.motion``).

>>> [(v.lemma, v.motion) for v in verbs_in("a paper boat drifting down a rainy street".split())]
[('drift', 'drift')]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from framecast.domain.timeline import MotionKind
from framecast.render.words.inflect import verb_forms

#: Each motion and the verbs that call for it.
MOTION_VERBS: dict[MotionKind, tuple[str, ...]] = {
    "drift": ("drift", "glide", "coast", "meander", "wander", "float along", "bob along", "travel"),
    "sail": ("sail", "cruise", "row", "paddle", "steam", "navigate"),
    "drive": (
        "drive",
        "ride",
        "race",
        "speed",
        "zoom",
        "commute",
        "pass",
        "cross",
        "rush",
        "sled",
        "sledge",
        "ski",
        "skate",
        "snowboard",
        "cycle",
        "pedal",
    ),
    "run": ("run", "jog", "sprint", "dash", "chase", "hurry", "gallop", "flee", "scurry", "charge"),
    "walk": ("walk", "stroll", "hike", "march", "trot", "stride", "wade", "waddle", "crawl", "creep"),
    "swim": ("swim", "splash", "paddle about", "snorkel", "dive in"),
    "fly": ("fly", "soar", "flap", "flutter", "flit", "migrate", "zip"),
    "rise": ("rise", "ascend", "climb", "emerge", "come up", "go up", "lift", "rise up", "surface"),
    "float": ("float", "levitate", "drift up", "waft"),
    "launch": ("launch", "blast off", "take off", "lift off", "shoot", "erupt"),
    "fall": ("fall", "drop", "tumble", "descend", "plunge", "rain down", "come down", "land", "plummet"),
    "sink": ("sink", "dive", "submerge", "set", "go down", "settle", "melt"),
    "jump": ("jump", "hop", "leap", "bounce", "skip", "dance", "bound", "play", "celebrate", "cheer"),
    "roll": ("roll", "rumble", "trundle"),
    "spin": ("spin", "twirl", "rotate", "whirl", "swirl", "spiral", "turn", "flip"),
    "orbit": ("orbit", "circle", "revolve", "loop", "go around"),
    "sway": ("sway", "wave", "swing", "rock", "wiggle", "wobble", "lean", "bend", "bow"),
    "shake": ("shake", "tremble", "shiver", "rattle", "vibrate", "buzz", "ring", "quake", "jiggle"),
    "pour": ("pour", "spill", "tip", "tilt", "serve", "brew", "fill"),
    "grow": ("grow", "sprout", "expand", "build", "rise from", "appear", "swell"),
    "bloom": ("bloom", "blossom", "open", "burst", "pop", "unfold"),
    "pulse": ("beat", "pulse", "throb", "breathe", "pump", "love"),
    "blink": ("blink", "flash", "flicker", "twinkle", "sparkle", "wink", "strobe"),
    "glow": ("glow", "shine", "gleam", "light up", "burn", "beam", "radiate", "illuminate", "smoulder"),
    "hover": ("hover", "hang", "bob", "wait", "linger", "stare"),
    "none": (
        "sit",
        "stand",
        "rest",
        "sleep",
        "lie",
        "nap",
        "stay",
        "read",
        "think",
        "relax",
        "watch",
        "look",
    ),
}


#: Verbs of going that say nothing of how: the subject moves its own way (a car drives, a bird flies).
GOING_VERBS = (
    "leave",
    "go",
    "move",
    "head",
    "depart",
    "come",
    "return",
    "arrive",
    "journey",
    "set off",
    "go by",
)


@dataclass(frozen=True)
class VerbMention:
    """A motion verb found in a sentence: at token ``index`` (its first word), its lemma and motion
    (None: a verb of going, the subject moves its own way)."""

    index: int
    lemma: str
    motion: MotionKind | None
    length: int = 1


@lru_cache(maxsize=1)
def _forms() -> tuple[
    dict[str, tuple[str, MotionKind | None]], dict[tuple[str, str], tuple[str, MotionKind | None]]
]:
    single: dict[str, tuple[str, MotionKind | None]] = {}
    double: dict[tuple[str, str], tuple[str, MotionKind | None]] = {}
    table: list[tuple[MotionKind | None, tuple[str, ...]]] = [*MOTION_VERBS.items(), (None, GOING_VERBS)]
    for motion, verbs in table:
        for verb in verbs:
            head, _, particle = verb.partition(" ")
            for form in verb_forms(head):
                if particle:
                    double.setdefault((form, particle), (verb, motion))
                else:
                    single.setdefault(form, (verb, motion))
    return single, double


def verb_of(word: str) -> tuple[str, MotionKind | None] | None:
    """The lemma and motion of one word, if it is a form of a motion verb ("flew" -> ("fly", "fly"))."""
    return _forms()[0].get(word)


def verbs_in(tokens: list[str]) -> list[VerbMention]:
    """The motion verbs among lower-case ``tokens``, in order; two-word verbs win over one-word ones."""
    single, double = _forms()
    out: list[VerbMention] = []
    i = 0
    while i < len(tokens):
        pair = double.get((tokens[i], tokens[i + 1])) if i + 1 < len(tokens) else None
        if pair is not None:
            out.append(VerbMention(i, pair[0], pair[1], 2))
            i += 2
            continue
        found = single.get(tokens[i])
        if found is not None:
            out.append(VerbMention(i, found[0], found[1]))
        i += 1
    return out


def all_verb_forms() -> frozenset[str]:
    """Every single-word form of every motion verb (the subject index leaves these to the verbs)."""
    return frozenset(_forms()[0])
