"""Words to subjects: every noun the illustration set can show, and the subjects a sentence names.

The index is made once per process from the set's own annotations (``artset.annotations``: CLDR names
and keywords of each emoji the set draws), with plurals (``inflect.plural``) and the common words people
type for them (``synonyms.SYNONYMS``: "kitty" -> cat, "automobile" -> car). It leaves out what is not a thing
to show: faces and gestures, symbols, country flags, skin-tone and facing variants, and keywords that are
adjectives or verbs. Where several emoji answer to one word, the one CLDR names after it wins ("boat" is a
motor boat by CLDR; ``SYNONYMS`` makes it the sailboat a person means).

>>> index = subject_index()                              # doctest: +SKIP
>>> index.lookup("kitties").icon, index.lookup("automobile").icon   # doctest: +SKIP
('cat', 'automobile')
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from framecast.domain.timeline import BackgroundKind, MotionKind, TimeOfDay
from framecast.render.artset import Annotation, cldr_annotations, icon_set
from framecast.render.words import subject_kinds as kinds
from framecast.render.words.inflect import ing_form, plural
from framecast.render.words.synonyms import DESCRIPTIVE_SUFFIXES, NOT_SUBJECTS, SYNONYMS, VERB_FORMS
from framecast.render.words.verbs import all_verb_forms

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_PEOPLE = frozenset({"person", "man", "woman"})
_MAX_TAG_SHARE = 12  # a keyword more than this many emoji share is a category ("animal"), not a thing


def normalise(text: str) -> list[str]:
    """Lower-case word tokens without accents ("Piñata" -> ["pinata"]; "T-Rex" -> ["t", "rex"])."""
    plain = unicodedata.normalize("NFKD", text.replace("’", "'"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return [t.lower() for t in _TOKEN.findall(plain)]


def sentence_tokens(text: str) -> list[str]:
    """Like :func:`normalise`, with a ``","`` token wherever punctuation breaks the sentence, so that a
    phrase or a run of nouns never reaches across it ("results: revenue" is two things)."""
    return [t for part in _BREAK.split(text) for t in (*normalise(part), ",")][:-1]


_BREAK = re.compile(r"[,;:.!?()\[\]\u2014\u2013\"]+|\s-\s")


def key_of(text: str) -> str:
    return " ".join(normalise(text))


@dataclass(frozen=True)
class Subject:
    """Something the set can draw: its icon name, CLDR name and filing, and how it behaves in a scene."""

    icon: str
    label: str
    group: str
    subgroup: str

    @property
    def place(self) -> kinds.Place:
        """Where it belongs in a picture: on the ground, in the sky or in the water."""
        return kinds.place_of(self.icon, self.subgroup)

    @property
    def motion(self) -> MotionKind:
        """What it does when the sentence says nothing (cars drive, birds fly, flowers bloom)."""
        return kinds.motion_of(self.icon, self.subgroup)

    @property
    def habitat(self) -> BackgroundKind | None:
        """The setting it suggests when the sentence names none (a fish: the sea; a cup: a room)."""
        return kinds.habitat_of(self.icon, self.subgroup)

    @property
    def time_of_day(self) -> TimeOfDay | None:
        """The time of day it implies (the moon, an owl: night), if any."""
        return kinds.time_of(self.icon)

    @property
    def size(self) -> float:
        """How large it is drawn relative to other subjects (a bee smaller than a bus)."""
        return kinds.size_of(self.icon, self.subgroup)

    @property
    def is_person(self) -> bool:
        return self.subgroup == "person" or self.label in _PEOPLE


def _usable(a: Annotation) -> bool:
    """Whether an emoji is a thing worth showing as a subject (see the module docstring)."""
    if a.group in ("component", "symbols"):
        return False
    if a.group == "flags":
        return a.subgroup == "flag"
    if a.group == "smileys-emotion":
        return a.subgroup in ("face-costume", "heart")
    if a.subgroup in (
        "hand-fingers-open",
        "hand-fingers-partial",
        "hand-single-finger",
        "hand-fingers-closed",
        "person-symbol",
        "skin-tone",
        "hair-style",
    ):
        return False
    label = a.label.lower()
    return (
        ":" not in label and "facing right" not in label and "o’clock" not in label and "thirty" not in label
    )


def _head(words: list[str]) -> tuple[str | None, tuple[str, str] | None]:
    """A CLDR name's head noun, and, for a person doing something ("woman surfing"), (who, doing)."""
    if len(words) >= 2 and words[0] in _PEOPLE:
        if words[1].endswith("ing"):
            return None, (words[0], words[1])
        if words[1] in ("in", "with"):
            return None, None
        return " ".join(words[1:]), None
    for joint in ("of", "with", "in", "on", "behind", "without", "and"):
        if joint in words[1:]:
            words = words[: words.index(joint)]
            break
    if len(words) == 2 and words[1] == "face":
        return words[0], None
    return words[-1] if words else None, None


@dataclass
class SubjectIndex:
    """Words and phrases (normalised: ``key_of``) to subjects; ``nouns`` are the keys that are not made
    plurals; ``activities`` maps (person, doing) to the emoji of that person doing it."""

    words: dict[str, Subject]
    nouns: frozenset[str]
    plurals: frozenset[str]
    activities: dict[tuple[str, str], Subject]
    by_icon: dict[str, Subject]
    by_emoji: dict[str, Subject]
    longest: int

    def lookup(self, text: str) -> Subject | None:
        """The subject a word, phrase, icon name or emoji names, or None."""
        stripped = text.strip()
        if stripped in self.by_icon:
            return self.by_icon[stripped]
        emoji = stripped.replace("\ufe0f", "")
        if emoji in self.by_emoji:
            return self.by_emoji[emoji]
        return self.words.get(key_of(stripped))

    def standing(self, who: Subject) -> Subject:
        """The whole figure of a person (CLDR's "person", "woman", "child" are heads): standing."""
        return self.activity(who, "standing") or who

    def activity(self, who: Subject, verb: str) -> Subject | None:
        """The emoji of ``who`` (a person) doing ``verb`` ("woman", "surf" -> woman surfing), if any."""
        gender = {
            "man": "man",
            "boy": "man",
            "old man": "man",
            "man beard": "man",
            "woman": "woman",
            "girl": "woman",
            "old woman": "woman",
        }
        person = gender.get(who.label, "person")
        if verb.endswith("ing"):
            doing = verb
        else:
            doing = _ACTIVITY_VERBS.get(verb) or ing_form(verb)
        return self.activities.get((person, doing)) or self.activities.get(("person", doing))


#: Verbs whose emoji are named by another word ("ride a bike": biking).
_ACTIVITY_VERBS = {
    "ride": "biking",
    "cycle": "biking",
    "jog": "running",
    "sprint": "running",
    "dash": "running",
    "stroll": "walking",
    "hike": "walking",
    "march": "walking",
    "paddle": "rowing",
    "row": "rowing",
    "sail": "rowing",
    "dance": "dancing",
    "meditate": "in lotus position",
    "float": "swimming",
    "dive": "swimming",
}


@lru_cache(maxsize=1)
def subject_index() -> SubjectIndex:
    """The index (made on first use: about 0.1 s; raises ``TaskFailed`` if the set is not installed)."""
    art = icon_set()
    verbs = all_verb_forms()
    subjects: list[Subject] = []
    by_label: dict[str, Subject] = {}
    by_emoji: dict[str, Subject] = {}
    candidates: dict[str, list[tuple[int, int, int, Subject]]] = defaultdict(list)
    activities: dict[tuple[str, str], Subject] = {}
    tag_share: dict[str, int] = defaultdict(int)
    usable = [a for a in cldr_annotations() if _usable(a)]
    for a in usable:
        for tag in a.tags:
            tag_share[key_of(tag)] += 1
    for a in usable:
        icon = art.name_of(a.hexcode)
        if icon is None or icon not in art:
            continue
        label_words = normalise(a.label)
        label = " ".join(label_words)
        subject = Subject(icon=icon, label=label, group=a.group, subgroup=a.subgroup)
        subjects.append(subject)
        by_label.setdefault(label, subject)
        by_emoji.setdefault(a.emoji.replace("\ufe0f", ""), subject)
        rank = (len(label_words), a.order)
        candidates[label].append((0, *rank, subject))
        head, doing = _head(label_words)
        if head and any(
            w[:1].isupper() and w.lower() == head.split()[-1] for w in a.label.replace("-", " ").split()
        ):
            head = None  # "Santa Claus" is not a claus
        if doing is not None:
            activities.setdefault(doing, subject)
        if head and head not in NOT_SUBJECTS and head not in verbs:
            candidates[head].append((2, *rank, subject))
        proper = {w.lower() for w in a.label.replace("-", " ").split() if w[:1].isupper()}
        for tag in a.tags:
            key = key_of(tag)
            if key in proper:
                continue  # "claus" of Santa Claus names no thing
            if (
                not key
                or key in NOT_SUBJECTS
                or key in verbs
                or key in VERB_FORMS
                or tag_share[key] > _MAX_TAG_SHARE
            ):
                continue
            if " " not in key and key.endswith(DESCRIPTIVE_SUFFIXES) and key not in label_words:
                continue
            named = 0 if key in label_words else 1  # the emoji whose name holds the keyword first
            candidates[key].append((4 + named, *rank, subject))
    best = {key: min(found, key=lambda c: c[:3]) for key, found in candidates.items()}
    words = {key: c[3] for key, c in best.items()}
    priority = {key: c[0] for key, c in best.items()}
    for word, target in SYNONYMS.items():
        chosen = by_label.get(key_of(target)) or next((s for s in subjects if s.icon == target), None)
        if chosen is not None:
            words[key_of(word)] = chosen
            priority[key_of(word)] = 0
    nouns = frozenset(words)
    for key in sorted(nouns, key=lambda k: priority[k]):
        many = plural(key)
        if many in VERB_FORMS and priority[key] >= 4:
            continue  # "writes" is not several writing hands
        # A plural of a name or a synonym ("cars") wins over a keyword that happens to be spelt so.
        if many not in words or priority.get(many, 9) > priority[key] and priority[key] < 4:
            words[many] = words[key]
            priority[many] = priority[key]
    return SubjectIndex(
        words=words,
        nouns=nouns,
        plurals=frozenset(plural(k) for k in nouns if plural(k) != k),
        activities=activities,
        by_icon={s.icon: s for s in reversed(subjects)},
        by_emoji=by_emoji,
        longest=max(len(k.split()) for k in words),
    )


@dataclass(frozen=True)
class Mention:
    """A subject named in a sentence: tokens ``[start, end)``, and what it is."""

    start: int
    end: int
    subject: Subject


def mentions_in(tokens: list[str], skip: set[int], index: SubjectIndex | None = None) -> list[Mention]:
    """The subjects ``tokens`` name, in order, longest phrase first ("ice cream", not "ice").

    Tokens in ``skip`` (settings, effects, verbs) are not subjects. Of nouns that follow one another, the
    last names the thing and the others describe it: "a paper boat" is a boat.
    """
    index = index or subject_index()
    found: list[Mention] = []
    i = 0
    while i < len(tokens):
        if i in skip or tokens[i] in NOT_SUBJECTS:
            i += 1
            continue
        for n in range(min(index.longest, len(tokens) - i), 0, -1):
            if any(k in skip for k in range(i, i + n)):
                continue
            subject = index.words.get(" ".join(tokens[i : i + n]))
            if subject is not None:
                found.append(Mention(i, i + n, subject))
                i += n
                break
        else:
            i += 1
    heads = [m for k, m in enumerate(found) if k + 1 == len(found) or found[k + 1].start != m.end]
    return heads
