"""Reading a sentence: its subjects (how many of each), what each does, and its scenery.

>>> r = read("A paper boat drifting down a rainy street")          # doctest: +SKIP
>>> [(c.subject.icon, c.motion) for c in r.cast], r.scenery.setting, r.scenery.effects   # doctest: +SKIP
([('sailboat', 'drift')], 'city', ('rain',))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from framecast.domain.timeline import MotionKind
from framecast.render.words.scenery import Scenery, scenery_of
from framecast.render.words.subjects import Mention, Subject, mentions_in, sentence_tokens, subject_index
from framecast.render.words.verbs import VerbMention, verbs_in

MAX_CAST = 5  # subjects drawn in one scene at most (a crowd of six is five)

_NUMBERS = {
    "two": 2,
    "couple": 2,
    "pair": 2,
    "both": 2,
    "twin": 2,
    "twins": 2,
    "three": 3,
    "few": 3,
    "several": 3,
    "some": 3,
    "many": 4,
    "four": 4,
    "five": 5,
    "lots": 4,
    "flock": 4,
    "herd": 4,
    "school": 4,
    "swarm": 5,
    "fleet": 3,
    "crowd": 5,
}
#: A word before a noun-or-verb ("a fly", "the watch", "two birds") makes it the noun.
_NOUN_BEFORE = frozenset(
    "a an the my your his her its our their this that these those some any every each one two three four "
    "five few several many no of big small little tiny huge old new young red blue green yellow white "
    "black pink purple orange brown golden silver gold luxury fancy expensive cheap vintage classic modern "
    "wooden wristwatch smart digital pocket beautiful lovely cute tall short long heavy light".split()
)


_SUBJECT_PRONOUNS = frozenset("i you we they he she it".split())


@dataclass(frozen=True)
class Cast:
    """A subject in a scene: what it is, how many, what it does and which way it goes."""

    subject: Subject
    motion: MotionKind
    count: int = 1
    direction: Literal["left", "right"] | None = None
    verb: str | None = None


@dataclass(frozen=True)
class Reading:
    """What one sentence says: its cast, in the order named, and its scenery."""

    cast: tuple[Cast, ...]
    scenery: Scenery

    @property
    def illustrated(self) -> bool:
        """Whether the sentence names anything to show (a subject, a place, an effect)."""
        return bool(self.cast or self.scenery.setting or self.scenery.effects)


def _verb_for(
    m: Mention, k: int, mentions: list[Mention], verbs: list[VerbMention], claimed: set[int]
) -> VerbMention | None:
    """The verb a subject does: the first after it before the next subject, else one before it that no
    subject before it does ("over the hill flies a bird"), else the sentence's only verb ("a cat and a dog
    play": both)."""
    nxt = mentions[k + 1].start if k + 1 < len(mentions) else 1 << 30
    prev = mentions[k - 1].end if k > 0 else -1
    after = [v for v in verbs if m.end <= v.index < nxt]
    if after:
        return after[0]
    before = [v for v in verbs if prev <= v.index < m.start and v.index not in claimed]
    if before:
        return before[-1]
    return verbs[0] if len(verbs) == 1 and k + 1 < len(mentions) or len(verbs) == 1 and not claimed else None


def read(text: str) -> Reading:
    """Read one sentence (or a whole prompt: its subjects and scenery, all of them)."""
    index = subject_index()
    tokens = sentence_tokens(text)
    scenery = scenery_of(tokens)
    verbs = [
        v
        for v in verbs_in(tokens)
        if v.index not in scenery.used
        and not (v.index > 0 and tokens[v.index - 1] in _NOUN_BEFORE and tokens[v.index] in index.words)
    ]
    # A noun that is also a verb ("leaves", "watch") is the verb right after a subject, else the noun.
    verbs = [v for v in verbs if v.motion is not None or v.index > 0 and tokens[v.index - 1] in index.words]
    # "Snow falls", "rain pours": the weather does that, not a subject.
    verbs = [v for v in verbs if not (v.index > 0 and v.index - 1 in scenery.used)]
    taken = {i for v in verbs for i in range(v.index, v.index + v.length)}
    # After "you", "we", "they"... comes a verb ("you ship faster"), whatever else the word can be.
    taken |= {i + 1 for i, t in enumerate(tokens[:-1]) if t in _SUBJECT_PRONOUNS}
    mentions = mentions_in(tokens, set(scenery.used) | taken, index)
    direction: Literal["left", "right"] | None = (
        "left" if "left" in tokens or "leftward" in tokens else "right" if "right" in tokens else None
    )
    cast: list[Cast] = []
    seen: dict[str, int] = {}
    claimed: set[int] = set()
    props: set[int] = set()  # mentions a person's activity already shows ("rides her bike": biking)
    for k, m in enumerate(mentions):
        if k in props:
            continue
        subject = m.subject
        verb = _verb_for(m, k, mentions, verbs, claimed)
        if verb is not None:
            claimed.add(verb.index)
        if subject.is_person:
            doing = tokens[m.end] if m.end < len(tokens) else ""
            acting = index.activity(subject, doing) if doing.endswith("ing") else None
            if acting is None and verb is not None:
                acting = index.activity(subject, verb.lemma)
            if acting is not None:
                subject = acting
                nxt = mentions[k + 1] if k + 1 < len(mentions) else None
                if (
                    nxt is not None
                    and nxt.start - m.end <= 4
                    and nxt.subject.group in ("travel-places", "activities")
                ):
                    props.add(k + 1)
        if subject.subgroup == "person":  # CLDR's people are heads; show the whole person standing
            subject = index.standing(subject)
        motion: MotionKind = (verb.motion if verb is not None else None) or subject.motion
        phrase = " ".join(tokens[m.start : m.end])
        count = next(
            (_NUMBERS[tokens[i]] for i in (m.start - 1, m.start - 2) if i >= 0 and tokens[i] in _NUMBERS), 0
        )
        if not count:
            count = 3 if phrase in index.plurals else 1
        if subject.icon in seen:
            continue
        seen[subject.icon] = len(cast)
        cast.append(Cast(subject, motion, count, direction, verb.lemma if verb else None))
    return Reading(tuple(cast), scenery)
