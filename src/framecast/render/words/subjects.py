"""Words to subjects: every noun the illustration set can show, and the subjects a sentence names.

The index is made once per process from the set's own annotations (``artset.annotations``: CLDR names
and keywords of each emoji the set draws), with plurals (``inflect.plural``) and the common words people
type for them (:data:`SYNONYMS`: "kitty" -> cat, "automobile" -> car). It leaves out what is not a thing
to show: faces and gestures, symbols, country flags, skin-tone and facing variants, and keywords that are
adjectives or verbs. Where several emoji answer to one word, the one CLDR names after it wins ("boat" is a
motor boat by CLDR; :data:`SYNONYMS` makes it the sailboat a person means).

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
from framecast.render.words.inflect import ing_form, plural, verb_forms
from framecast.render.words.verbs import all_verb_forms

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_PEOPLE = frozenset({"person", "man", "woman"})
_MAX_TAG_SHARE = 12  # a keyword more than this many emoji share is a category ("animal"), not a thing

#: Common words for things the set shows under another name (each target is a CLDR name or an icon name).
SYNONYMS: dict[str, str] = {
    "boat": "sailboat",
    "yacht": "sailboat",
    "dinghy": "sailboat",
    "car": "automobile",
    "auto": "automobile",
    "motorcar": "automobile",
    "vehicle": "automobile",
    "cab": "taxi",
    "truck": "delivery truck",
    "lorry": "delivery truck",
    "van": "minibus",
    "bike": "bicycle",
    "motorbike": "motorcycle",
    "plane": "airplane",
    "aeroplane": "airplane",
    "jet": "airplane",
    "airliner": "airplane",
    "chopper": "helicopter",
    "spaceship": "rocket",
    "spacecraft": "rocket",
    "ufo": "flying saucer",
    "subway": "metro",
    "underground": "metro",
    "steamship": "ship",
    "cruise ship": "passenger ship",
    "kitty": "cat",
    "kitten": "cat",
    "puss": "cat",
    "pussycat": "cat",
    "puppy": "dog",
    "pup": "dog",
    "doggy": "dog",
    "doggie": "dog",
    "pooch": "dog",
    "hound": "dog",
    "bunny": "rabbit",
    "pony": "horse",
    "stallion": "horse",
    "mare": "horse",
    "piggy": "pig",
    "piglet": "pig",
    "hog": "pig",
    "birdie": "bird",
    "hen": "chicken",
    "chick": "baby chick",
    "calf": "cow",
    "cattle": "cow",
    "bull": "ox",
    "lamb": "ewe",
    "sheep": "ewe",
    "bunny rabbit": "rabbit",
    "squirrel": "chipmunk",
    "seagull": "dove",
    "gull": "dove",
    "pigeon": "dove",
    "crow": "black bird",
    "raven": "black bird",
    "bee": "honeybee",
    "ladybug": "lady beetle",
    "ladybird": "lady beetle",
    "insect": "bug",
    "dino": "sauropod",
    "dinosaur": "sauropod",
    "trex": "t-rex",
    "kid": "child",
    "toddler": "child",
    "infant": "baby",
    "grandpa": "old man",
    "grandfather": "old man",
    "grandma": "old woman",
    "grandmother": "old woman",
    "granny": "old woman",
    "lady": "woman",
    "gentleman": "man",
    "guy": "man",
    "dude": "man",
    "human": "person",
    "friend": "person",
    "friends": "people hugging",
    "crowd": "people hugging",
    "couple": "couple with heart",
    "doctor": "health worker",
    "nurse": "health worker",
    "chef": "cook",
    "baker": "cook",
    "cop": "police officer",
    "policeman": "man police officer",
    "policewoman": "woman police officer",
    "police": "police officer",
    "soldier": "guard",
    "worker": "construction worker",
    "builder": "construction worker",
    "programmer": "technologist",
    "developer": "technologist",
    "coder": "technologist",
    "engineer": "technologist",
    "wizard": "mage",
    "witch": "woman mage",
    "sorcerer": "mage",
    "mermaid": "merperson",
    "king": "prince",
    "queen": "princess",
    "flower": "blossom",
    "daisy": "blossom",
    "tree": "deciduous tree",
    "oak": "deciduous tree",
    "pine": "evergreen tree",
    "fir": "evergreen tree",
    "palm": "palm tree",
    "plant": "potted plant",
    "houseplant": "potted plant",
    "grass": "herb",
    "home": "house",
    "cottage": "house with garden",
    "building": "office building",
    "office": "office building",
    "skyscraper": "office building",
    "tower": "tokyo tower",
    "shop": "convenience store",
    "store": "convenience store",
    "supermarket": "convenience store",
    "moon": "crescent moon",
    "sun": "sun",
    "planet": "ringed planet",
    "saturn": "ringed planet",
    "earth": "globe showing europe-africa",
    "world": "globe showing europe-africa",
    "globe": "globe showing europe-africa",
    "lightning": "high voltage",
    "thunder": "high voltage",
    "computer": "laptop",
    "pc": "desktop computer",
    "phone": "mobile phone",
    "smartphone": "mobile phone",
    "cellphone": "mobile phone",
    "tv": "television",
    "book": "closed book",
    "novel": "closed book",
    "letter": "envelope",
    "mail": "envelope",
    "gift": "wrapped gift",
    "present": "wrapped gift",
    "ball": "soccer ball",
    "football": "soccer ball",
    "piano": "musical keyboard",
    "keyboard": "keyboard",
    "headphones": "headphone",
    "song": "musical note",
    "coffee": "hot beverage",
    "cocoa": "hot beverage",
    "mug": "hot beverage",
    "tea": "teacup without handle",
    "cup": "hot beverage",
    "beer": "beer mug",
    "wine": "wine glass",
    "cocktail": "cocktail glass",
    "juice": "beverage box",
    "soda": "cup with straw",
    "milk": "glass of milk",
    "burger": "hamburger",
    "cheeseburger": "hamburger",
    "fries": "french fries",
    "chips": "french fries",
    "hotdog": "hot dog",
    "cake": "birthday cake",
    "donut": "doughnut",
    "icecream": "ice cream",
    "gelato": "ice cream",
    "salad": "green salad",
    "soup": "pot of food",
    "stew": "pot of food",
    "pasta": "spaghetti",
    "noodles": "steaming bowl",
    "ramen": "steaming bowl",
    "apple": "red apple",
    "orange": "tangerine",
    "grape": "grapes",
    "cherry": "cherries",
    "corn": "ear of corn",
    "cheese": "cheese wedge",
    "chocolate": "chocolate bar",
    "sweets": "candy",
    "steak": "cut of meat",
    "meat": "meat on bone",
    "egg": "egg",
    "lamp": "light bulb",
    "bulb": "light bulb",
    "light": "light bulb",
    "lantern": "red paper lantern",
    "clock": "mantelpiece clock",
    "sofa": "couch and lamp",
    "couch": "couch and lamp",
    "money": "money bag",
    "cash": "dollar banknote",
    "dollar": "dollar banknote",
    "medal": "sports medal",
    "diamond": "gem stone",
    "jewel": "gem stone",
    "hat": "top hat",
    "cap": "billed cap",
    "shoe": "running shoe",
    "sneaker": "running shoe",
    "shirt": "t-shirt",
    "heart": "red heart",
    "people": "people hugging",
    "love": "red heart",
    "flame": "fire",
    "campfire": "fire",
    "bonfire": "fire",
    "firework": "fireworks",
    "present box": "wrapped gift",
    "umbrella": "umbrella",
    "snowman": "snowman without snow",
    "star": "star",
    "rainbow": "rainbow",
    "tent": "tent",
    "castle": "castle",
    "robot": "robot",
    "alien": "alien",
    "monster": "alien monster",
    "dragon": "dragon",
    "unicorn": "unicorn",
    "ghost": "ghost",
    "skeleton": "skull",
    "camera": "camera",
    "film": "film frames",
    "movie": "clapper board",
    "guitar": "guitar",
    "drum": "drum",
    "violin": "violin",
    "trumpet": "trumpet",
    "paintbrush": "paintbrush",
    "paint": "artist palette",
    "pencil": "pencil",
    "pen": "pen",
    "key": "old key",
    "door": "door",
    "window": "window",
    "bed": "bed",
    "chair": "chair",
    "bath": "bathtub",
    "candle": "candle",
    "rocket": "rocket",
    "leaf": "leaf fluttering in wind",
    "feather": "feather",
    "traffic light": "vertical traffic light",
    "traffic lights": "vertical traffic light",
    "stoplight": "vertical traffic light",
    "club": "mirror ball",
    "nightclub": "mirror ball",
    "disco": "mirror ball",
    "meditation": "person in lotus position",
    "yoga": "person in lotus position",
    "growth": "chart increasing",
    "sales": "chart increasing",
    "chart": "bar chart",
    "results": "bar chart",
    "statistics": "bar chart",
    "data": "bar chart",
    "revenue": "money bag",
    "profit": "money bag",
    "costs": "money with wings",
    "report": "clipboard",
    "idea": "light bulb",
    "ideas": "light bulb",
    "meeting": "calendar",
    "schedule": "spiral calendar",
    "deadline": "alarm clock",
    "goal": "direct hit",
    "target": "direct hit",
    "success": "trophy",
    "win": "trophy",
    "award": "trophy",
    "email": "e-mail",
    "message": "speech balloon",
    "code": "laptop",
    "software": "laptop",
    "app": "mobile phone",
    "ai": "robot",
    "science": "microscope",
    "research": "microscope",
    "dna": "dna",
    "atom": "atom symbol",
    "brain": "brain",
    "health": "stethoscope",
    "hospital": "hospital",
    "medicine": "pill",
    "music": "musical notes",
}

#: Words that are never a subject even where CLDR lists them as keywords (colours, sizes, moods, times of
#: day and other words that describe rather than name).
NOT_SUBJECTS = frozenset(
    """
    red orange yellow green blue purple violet pink brown black white grey gray gold golden silver dark light
    bright big small little large huge tiny giant mini tall short long round happy sad angry cute funny
    new old young good bad hot cold warm cool fast slow quiet loud beautiful pretty magic magical wild calm
    sweet fresh tasty delicious empty full wet dry first last next best great nice lovely strong soft hard
    day night time today tonight morning evening afternoon noon dawn dusk sunset sunrise midnight twilight
    week year month weekend hour minute second moment season summer winter spring autumn
    thing object stuff way place part kind type sort lot side top bottom front back middle end start
    face sign symbol word text name number letter point mark gesture emotion feeling idea
    one two three four five six seven eight nine ten hundred thousand million billion
    yes no ok okay hello hi bye thanks please sorry wow record percent quarterly tips tip steps step stop stops hole holes luxury premium beginner beginners
    today tomorrow yesterday always never ever again also very really just only even still
    nature animal animals vehicle vehicles transportation transport food drink object objects weather
    person people face body sport sports game games travel place places activity activities
    a an the and or but of to in on at for with from by is are was were be been it its this that these
    those as into over under about your you we our they their i my me he she his her them us not no so
    up down out off away across through along around near past toward towards beneath behind between
    above below inside outside onto upon within without like than then there here where when while who
    what which how why all any some many much more most few each every other another such own same
    """.split()
) - {"person", "people", "letter"}

#: Common verbs: CLDR lists some as keywords ("write" for a writing hand); a keyword that is one of these
#: (or a form of one) does not name a subject.
COMMON_VERBS = frozenset(
    """
    be have do say get make go know take see come think look want give use find tell ask work seem feel try
    leave call keep let begin help talk turn start show hear play move live believe bring happen write
    provide lose pay meet include continue learn change lead understand watch follow stop create speak read
    allow add spend open win offer remember love consider appear buy wait serve die send expect build stay cut
    reach kill remain suggest raise pass sell require decide pull eat drink cook sleep sing dance smile laugh
    cry hug kiss greet wave point clap pray vote shop wash clean paint draw type print call text post share
    like care mean need hope wish plan test check fix repair teach study travel visit explore celebrate
    """.split()
)
_VERB_FORMS = frozenset(form for verb in COMMON_VERBS for form in verb_forms(verb))

#: Keywords that describe a look or a deed, whatever CLDR files them under (a keyword, not a name: the
#: name always counts).
_DESCRIPTIVE_SUFFIXES = ("ing", "ed", "ly", "ous", "ful", "less", "ish", "ive", "est")


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
                or key in _VERB_FORMS
                or tag_share[key] > _MAX_TAG_SHARE
            ):
                continue
            if " " not in key and key.endswith(_DESCRIPTIVE_SUFFIXES) and key not in label_words:
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
        if many in _VERB_FORMS and priority[key] >= 4:
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
