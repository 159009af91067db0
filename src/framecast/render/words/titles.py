"""Titles: the first sentence as a whole phrase, never cut inside a phrase.

A first sentence of up to :data:`MAX_TITLE_WORDS` words is the title as it is (it wraps on screen).
A longer one gives its first clause (up to a comma, a colon, a dash); a clause that is still too long is
cut only before a word that starts a new phrase (a preposition, a conjunction, "that", "while"...) and
never after a little word ("the", "of") -- so the title ends where a phrase ends.

>>> title_of(["A paper boat drifting down a rainy street."])
'A paper boat drifting down a rainy street'
>>> title_of(["One very long sentence that keeps going and going, with many clauses"])
'One very long sentence that keeps going and going'
"""

from __future__ import annotations

import re

MAX_TITLE_WORDS = 12

#: Words a title does not end on (articles, prepositions, conjunctions and the like).
DANGLING = frozenset(
    """
    a an the and or but nor of to in on at for with from by is are was were be been being it its this that
    these those as into over under about your you we our they their i my me he she his her them us not no
    so very down up onto across through along around near past toward towards beneath behind between like
    than then when while where whose which who whom if because although though until since after before
    during without within upon off out per via just also really
    """.split()
)

#: Words that start a new phrase: a title may end just before one.
PHRASE_STARTS = frozenset(
    """
    that which who whom whose where when while because although though until since after before during
    and but or nor so yet if as than like with without in on at by for from of to into onto over under
    across through along around near past toward towards beneath behind between above below against among
    """.split()
)
_CLAUSE = re.compile(r"\s*(?:[,;:]|\s[-\u2013\u2014]\s|\u2014|\u2013)\s*")


def _words(text: str) -> list[str]:
    return text.split()


def _bare(word: str) -> str:
    return word.lower().strip(",.;:!?\"'()")


def phrase_cut(words: list[str], limit: int = MAX_TITLE_WORDS) -> list[str]:
    """The longest start of ``words`` of at most ``limit`` words that ends where a phrase ends."""
    if len(words) <= limit:
        return words
    for k in range(limit, 1, -1):
        if _bare(words[k]) in PHRASE_STARTS and _bare(words[k - 1]) not in DANGLING:
            return words[:k]
    keep = words[:limit]
    while len(keep) > 2 and _bare(keep[-1]) in DANGLING:
        keep = keep[:-1]
    return keep


def title_of(parts: list[str]) -> str:
    """The title of a prompt whose sentences are ``parts`` (see the module docstring)."""
    first = parts[0].strip().rstrip(".!?;:,")
    words = _words(first)
    if len(words) <= MAX_TITLE_WORDS:
        return first or "Untitled"
    clause = _CLAUSE.split(first)[0].strip()
    clause_words = _words(clause)
    if 2 <= len(clause_words) <= MAX_TITLE_WORDS:
        keep = clause_words
    else:
        keep = phrase_cut(clause_words if len(clause_words) >= 2 else words)
    title = " ".join(keep).strip(",.;: ")
    return title[:1].upper() + title[1:] if title else first[:40]
