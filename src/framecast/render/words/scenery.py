"""Words to scenery: where a sentence happens (a setting), when (time of day), under what sky (cloud
cover) and with what in the air (ambient effects).

>>> s = scenery_of("a paper boat drifting down a rainy street".split())
>>> s.setting, s.clouds, s.effects
('city', 0.9, ('rain',))
"""

from __future__ import annotations

from dataclasses import dataclass, field

from framecast.domain.timeline import BackgroundKind, EffectKind, TimeOfDay
from framecast.render.words.inflect import plural

#: Setting words, and how strongly each names its setting: of "a forest pond" the forest is the picture.
SETTING_WORDS: dict[str, tuple[BackgroundKind, int]] = {}


def _settings(kind: BackgroundKind, strength: int, words: str) -> None:
    for word in words.split(","):
        word = word.strip()
        SETTING_WORDS.setdefault(word, (kind, strength))
        SETTING_WORDS.setdefault(plural(word), (kind, strength))


_settings("sea", 2, "sea, ocean, harbour, harbor, bay, waters, open sea, seas, marina, port, horizon")
_settings("lake", 5, "lake, pond, lagoon, river, stream, creek, lakeside, riverbank, canal, marsh")
_settings(
    "beach", 3, "beach, shore, seashore, coast, seaside, sand, sands, tropics, tropical island, island, surf"
)
_settings(
    "city",
    3,
    "city, street, town, downtown, road, avenue, boulevard, skyline, village, market, alley, "
    "neighbourhood, neighborhood, square, plaza, metropolis, suburb, highway, parking lot, crossroads, "
    "sidewalk, pavement, bridge, rooftop, rooftops, new york, london, paris, tokyo",
)
_settings(
    "forest", 4, "forest, woods, woodland, jungle, grove, rainforest, rain forest, wood, wilderness, swamp"
)
_settings("desert", 4, "desert, dune, sahara, canyon, oasis, savanna, savannah, wasteland, badlands")
_settings("mountains", 4, "mountain, peak, alps, summit, valley, cliff, glacier, ridge, highlands, himalayas")
_settings(
    "meadow",
    2,
    "meadow, field, park, garden, farm, countryside, hill, grassland, lawn, prairie, yard, backyard, "
    "orchard, pasture, picnic, playground, vineyard, outdoors, countryside",
)
_settings("snowfield", 1, "winter, wintry, frost, frosty, ice, icy, snowy")
_settings(
    "snowfield",
    3,
    "snowfield, arctic, tundra, north pole, south pole, antarctica, antarctic, ice field, ski slope",
)
_settings(
    "space",
    5,
    "space, outer space, galaxy, cosmos, universe, nebula, orbit, solar system, milky way, deep space, "
    "stars above, moon surface, mars, asteroid",
)
_settings(
    "room",
    5,
    "room, kitchen, bedroom, living room, office, classroom, indoors, inside, table, desk, sofa, couch, "
    "cafe, café, restaurant, studio, library, bathroom, bakery, shop, home, apartment, flat, attic, "
    "hallway, lobby, class, school, lab, laboratory, workshop, diner, bar, cinema, theatre, theater",
)

TIME_WORDS: dict[str, TimeOfDay] = {}
for _word in "dawn sunrise daybreak sunup first-light".split():
    TIME_WORDS[_word] = "dawn"
for _word in "morning noon midday day daytime afternoon sunny sunshine sunlit daylight".split():
    TIME_WORDS[_word] = "day"
for _word in "sunset dusk evening twilight sundown golden-hour".split():
    TIME_WORDS[_word] = "sunset"
for (
    _word
) in "night midnight nighttime tonight moonlight moonlit dark darkness starry starlit nocturnal".split():
    TIME_WORDS[_word] = "night"
TIME_WORDS.update({plural(w): t for w, t in list(TIME_WORDS.items()) if w not in ("dark", "darkness")})

#: Cloud cover the weather words mean (0 clear .. 1 overcast).
CLOUD_WORDS: dict[str, float] = {
    "clear": 0.05,
    "sunny": 0.05,
    "cloudless": 0.0,
    "cloud": 0.6,
    "clouds": 0.6,
    "cloudy": 0.75,
    "overcast": 0.9,
    "grey": 0.8,
    "gray": 0.8,
    "gloomy": 0.85,
    "rain": 0.9,
    "rainy": 0.9,
    "raining": 0.9,
    "rains": 0.9,
    "drizzle": 0.85,
    "downpour": 0.95,
    "storm": 1.0,
    "stormy": 1.0,
    "thunder": 1.0,
    "thunderstorm": 1.0,
    "monsoon": 1.0,
    "snow": 0.75,
    "snowy": 0.75,
    "snowing": 0.75,
    "blizzard": 0.95,
    "fog": 0.6,
    "foggy": 0.6,
    "mist": 0.55,
    "misty": 0.55,
}

#: Effect words; each calls for its effect.
EFFECT_WORDS: dict[str, EffectKind] = {}


def _effects(kind: EffectKind, words: str) -> None:
    for word in words.split():
        EFFECT_WORDS[word] = kind


_effects(
    "rain",
    "rain rainy raining rains rainfall drizzle downpour storm stormy thunderstorm monsoon wet raindrops",
)
_effects("snow", "snow snowy snowing snowfall snowflakes blizzard flurries snowstorm")
_effects("fog", "fog foggy mist misty haze hazy smog")
_effects("leaves", "wind windy breeze breezy autumn gust gusts leaves foliage")
_effects("fireflies", "firefly fireflies glowworms")
_effects("bubbles", "bubble bubbles bubbly underwater soap fizz fizzy foam aquarium")
_effects("sparks", "spark sparks sparkler sparklers welding embers fireworks")
_effects("stars", "stars starry starlight starlit")
_effects("smoke", "smoke smoky smoking steam steaming steamy chimney campfire incense exhaust")
_effects(
    "confetti",
    "confetti party celebrate celebrates celebration birthday wedding festival parade carnival congratulations",
)

#: "leaves" names leaves only after these (of "the rocket leaves the planet" it is a verb).
_LEAVES_AFTER = frozenset(
    "the autumn fall falling dry golden red yellow orange brown green fallen some many of with and "
    "crunchy colourful colorful".split()
)


#: Effect words that also name a subject to show (a campfire: the fire, and its smoke).
_ALSO_SUBJECTS = frozenset({"campfire", "fireworks", "sparkler", "sparklers", "chimney", "aquarium", "soap"})


@dataclass(frozen=True)
class Scenery:
    """What the words say about where and when: each None when they say nothing of it."""

    setting: BackgroundKind | None = None
    time_of_day: TimeOfDay | None = None
    clouds: float | None = None
    effects: tuple[EffectKind, ...] = ()
    #: Token indices that named these (they are not subjects).
    used: frozenset[int] = field(default=frozenset())


def scenery_of(tokens: list[str]) -> Scenery:
    """The scenery lower-case ``tokens`` describe (phrases of up to three words are matched)."""
    setting: tuple[BackgroundKind, int, int] | None = None  # kind, strength, position
    time: TimeOfDay | None = None
    clouds: float | None = None
    effects: list[EffectKind] = []
    used: set[int] = set()
    i = 0
    while i < len(tokens):
        matched = 1
        for n in (3, 2, 1):
            phrase = " ".join(tokens[i : i + n])
            if i + n <= len(tokens) and phrase in SETTING_WORDS:
                kind, strength = SETTING_WORDS[phrase]
                if setting is None or strength > setting[1]:
                    setting = (kind, strength, i)
                used.update(range(i, i + n))
                matched = n
                break
        word = tokens[i]
        if matched == 1:
            if word in TIME_WORDS:
                time = TIME_WORDS[word]
                used.add(i)
            if word in CLOUD_WORDS:
                clouds = (
                    max(clouds or 0.0, CLOUD_WORDS[word]) if CLOUD_WORDS[word] > 0.1 else CLOUD_WORDS[word]
                )
            if word in EFFECT_WORDS and (word != "leaves" or i > 0 and tokens[i - 1] in _LEAVES_AFTER):
                kind_ = EFFECT_WORDS[word]
                if kind_ not in effects:
                    effects.append(kind_)
                if word not in _ALSO_SUBJECTS:
                    used.add(i)
        i += matched
    if "stars" in effects and time is None:
        time = "night"
    if "fireflies" in effects and time is None:
        time = "night"
    return Scenery(
        setting=setting[0] if setting else None,
        time_of_day=time,
        clouds=clouds,
        effects=tuple(effects),
        used=frozenset(used),
    )
