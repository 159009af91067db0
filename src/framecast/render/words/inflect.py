"""English word forms the lexicons need: plurals of nouns, and the forms of verbs (runs, running, ran).

Rules plus the irregular words the illustration set and the motion verbs actually contain; not a
general morphology.

>>> plural("boat"), plural("butterfly"), plural("fox"), plural("leaf"), plural("mouse")
('boats', 'butterflies', 'foxes', 'leaves', 'mice')
>>> sorted(verb_forms("run"))
['ran', 'run', 'running', 'runs']
"""

from __future__ import annotations

_IRREGULAR_PLURALS = {
    "man": "men",
    "woman": "women",
    "child": "children",
    "person": "people",
    "mouse": "mice",
    "goose": "geese",
    "tooth": "teeth",
    "foot": "feet",
    "ox": "oxen",
    "fish": "fish",
    "sheep": "sheep",
    "deer": "deer",
    "bison": "bison",
    "moose": "moose",
    "shrimp": "shrimp",
    "squid": "squid",
    "cactus": "cacti",
    "fungus": "fungi",
    "dice": "dice",
    "die": "dice",
    "potato": "potatoes",
    "tomato": "tomatoes",
    "mango": "mangoes",
    "volcano": "volcanoes",
    "hero": "heroes",
    "superhero": "superheroes",
    "domino": "dominoes",
    "mosquito": "mosquitoes",
    "tornado": "tornadoes",
    "octopus": "octopuses",
    "platypus": "platypuses",
    "bus": "buses",
    "trolleybus": "trolleybuses",
    "minibus": "minibuses",
    "chess": "chess",
    "jeans": "jeans",
    "glasses": "glasses",
    "scissors": "scissors",
    "pants": "pants",
    "shorts": "shorts",
    "goggles": "goggles",
    "sunglasses": "sunglasses",
    "fries": "fries",
    "grapes": "grapes",
    "cherries": "cherries",
    "chopsticks": "chopsticks",
    "gloves": "gloves",
    "socks": "socks",
    "books": "books",
    "people": "people",
    "family": "families",
}
_VES = {"leaf", "wolf", "loaf", "shelf", "calf", "half", "elf", "thief", "knife", "wife", "life", "scarf"}
_VOWELS = set("aeiou")


def plural(noun: str) -> str:
    """The plural of a noun, or of the last word of a phrase ("motor boat" -> "motor boats")."""
    head, _, last = noun.rpartition(" ")
    prefix = head + " " if head else ""
    if last in _IRREGULAR_PLURALS:
        return prefix + _IRREGULAR_PLURALS[last]
    if last in _VES:
        return prefix + (last[:-2] + "ves" if last.endswith("fe") else last[:-1] + "ves")
    if last.endswith("y") and len(last) > 1 and last[-2] not in _VOWELS:
        return prefix + last[:-1] + "ies"
    if last.endswith(("s", "x", "z", "ch", "sh")):
        return prefix + last + "es"
    return prefix + last + "s"


_IRREGULAR_VERBS: dict[str, tuple[str, ...]] = {
    "run": ("ran",),
    "fly": ("flew", "flown"),
    "rise": ("rose", "risen"),
    "fall": ("fell", "fallen"),
    "sink": ("sank", "sunk"),
    "swim": ("swam", "swum"),
    "drive": ("drove", "driven"),
    "ride": ("rode", "ridden"),
    "grow": ("grew", "grown"),
    "spin": ("spun",),
    "swing": ("swung",),
    "shine": ("shone",),
    "leap": ("leapt",),
    "spring": ("sprang", "sprung"),
    "blow": ("blew", "blown"),
    "shake": ("shook", "shaken"),
    "go": ("went", "gone", "goes"),
    "come": ("came",),
    "take": ("took", "taken"),
    "dive": ("dove",),
    "sit": ("sat",),
    "stand": ("stood",),
    "sleep": ("slept",),
    "lie": ("lay", "lain", "lying"),
    "light": ("lit",),
    "burn": ("burnt",),
    "set": ("set",),
    "swell": ("swollen",),
    "slide": ("slid",),
    "climb": (),
    "dig": ("dug",),
    "hang": ("hung",),
    "strike": ("struck",),
    "beat": ("beaten",),
    "wind": ("wound",),
    "sing": ("sang", "sung"),
    "weave": ("wove", "woven"),
    "creep": ("crept",),
    "speed": ("sped",),
    "shoot": ("shot",),
}


def _doubles(verb: str) -> bool:
    """Short verbs ending consonant-vowel-consonant double it: run -> running, hop -> hopped."""
    return (
        len(verb) >= 3
        and verb[-1] not in _VOWELS | {"w", "x", "y"}
        and verb[-2] in _VOWELS
        and verb[-3] not in _VOWELS
        and sum(c in _VOWELS for c in verb) == 1
    )


def verb_forms(verb: str) -> set[str]:
    """Every form of a verb: itself, -s, -ing, -ed (or the irregular past)."""
    forms = {verb}
    if verb.endswith(("s", "x", "z", "ch", "sh")):
        forms.add(verb + "es")
    elif verb.endswith("y") and verb[-2] not in _VOWELS:
        forms.add(verb[:-1] + "ies")
    else:
        forms.add(verb + "s")
    if verb.endswith("ie"):
        forms.add(verb[:-2] + "ying")
    elif verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        forms.add(verb[:-1] + "ing")
    elif _doubles(verb):
        forms.add(verb + verb[-1] + "ing")
    else:
        forms.add(verb + "ing")
    if verb in _IRREGULAR_VERBS:
        forms.update(_IRREGULAR_VERBS[verb])
    elif verb.endswith("e"):
        forms.add(verb + "d")
    elif verb.endswith("y") and verb[-2] not in _VOWELS:
        forms.add(verb[:-1] + "ied")
    elif _doubles(verb):
        forms.add(verb + verb[-1] + "ed")
    else:
        forms.add(verb + "ed")
    return forms


def ing_form(verb: str) -> str:
    """The -ing form of a verb (surf -> surfing, ride -> riding, run -> running)."""
    return next(f for f in sorted(verb_forms(verb), key=len, reverse=True) if f.endswith("ing"))
