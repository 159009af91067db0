"""Words -> looks: the planner's lexicon of themes (palette, background kind, motion) and style presets."""

from __future__ import annotations

from dataclasses import dataclass, field

from framecast.domain.options import Style
from framecast.domain.timeline import (
    Align,
    AnimationKind,
    BackgroundKind,
    FontName,
    TransitionKind,
    Weight,
)


@dataclass(frozen=True)
class Theme:
    name: str
    palette: tuple[str, ...]
    kind: BackgroundKind
    motion: float = 1.0
    angle: float = 30.0
    words: tuple[str, ...] = ()


THEMES: tuple[Theme, ...] = (
    Theme(
        "ocean",
        ("#021b2e", "#05445e", "#0f7c99", "#3fb8c9"),
        "waves",
        0.8,
        0,
        (
            "ocean",
            "sea",
            "wave",
            "waves",
            "beach",
            "surf",
            "coast",
            "tide",
            "water",
            "marine",
            "blue",
            "sail",
        ),
    ),
    Theme(
        "sunset",
        ("#2b1055", "#7a2a6e", "#d5426b", "#f28a4b", "#f9c46b"),
        "gradient",
        0.7,
        80,
        ("sunset", "dusk", "evening", "golden", "horizon", "warm", "summer", "sundown", "twilight"),
    ),
    Theme(
        "neon",
        ("#0b0221", "#3a0ca3", "#7209b7", "#f72585", "#4cc9f0"),
        "particles",
        1.3,
        20,
        ("neon", "cyber", "cyberpunk", "synth", "club", "party", "night", "arcade", "glow", "electric", "dj"),
    ),
    Theme(
        "forest",
        ("#0b1f14", "#1b4332", "#2d6a4f", "#52b788", "#a7c957"),
        "bokeh",
        0.6,
        60,
        (
            "forest",
            "tree",
            "trees",
            "green",
            "nature",
            "leaf",
            "leaves",
            "moss",
            "jungle",
            "garden",
            "eco",
            "plant",
            "plants",
            "wild",
            "hike",
        ),
    ),
    Theme(
        "snow",
        ("#4f6d8a", "#7d9bb8", "#b9cde0", "#e8f1f8"),
        "particles",
        0.5,
        100,
        ("snow", "winter", "ice", "frost", "cold", "christmas", "holiday", "arctic", "frozen", "december"),
    ),
    Theme(
        "space",
        ("#02030a", "#0b0f2b", "#1f1b4d", "#3d2c6e"),
        "starfield",
        1.0,
        200,
        (
            "space",
            "star",
            "stars",
            "galaxy",
            "cosmos",
            "universe",
            "planet",
            "moon",
            "rocket",
            "orbit",
            "astronaut",
            "mars",
            "nebula",
            "launch",
        ),
    ),
    Theme(
        "city",
        ("#0d1321", "#1d2d44", "#3e5c76", "#748cab", "#f0a202"),
        "bokeh",
        0.9,
        10,
        ("city", "urban", "street", "downtown", "traffic", "skyline", "building", "metro", "lights", "town"),
    ),
    Theme(
        "rain",
        ("#1b262c", "#0f4c75", "#3282b8", "#7fa7c9"),
        "noise",
        0.9,
        100,
        ("rain", "storm", "cloud", "clouds", "grey", "gray", "wet", "thunder", "autumn", "fog", "mist"),
    ),
    Theme(
        "fire",
        ("#1a0500", "#6a040f", "#d00000", "#e85d04", "#faa307"),
        "noise",
        1.6,
        270,
        ("fire", "flame", "burn", "hot", "heat", "energy", "power", "lava", "volcano", "passion", "fast"),
    ),
    Theme(
        "desert",
        ("#3d2314", "#8b4c2a", "#c97c3d", "#e6b86a", "#f5deb3"),
        "waves",
        0.4,
        0,
        ("desert", "sand", "dune", "dunes", "dry", "sahara", "canyon", "earth", "clay"),
    ),
    Theme(
        "tech",
        ("#020617", "#0f172a", "#1e3a8a", "#2563eb", "#22d3ee"),
        "noise",
        0.9,
        20,
        (
            "ai",
            "tech",
            "technology",
            "data",
            "software",
            "code",
            "digital",
            "computer",
            "future",
            "robot",
            "cloud",
            "startup",
            "app",
            "product",
            "platform",
            "network",
            "machine",
            "learning",
            "python",
        ),
    ),
    Theme(
        "gold",
        ("#1a1305", "#4a3410", "#8c6a1f", "#d4af37", "#f3e5ab"),
        "bokeh",
        0.5,
        45,
        ("gold", "luxury", "premium", "rich", "wedding", "award", "celebration", "elegant", "royal", "money"),
    ),
    Theme(
        "spring",
        ("#3b1f3f", "#9d4edd", "#f7a1c4", "#ffd6e0", "#b7e4c7"),
        "bokeh",
        0.7,
        120,
        ("spring", "flower", "flowers", "bloom", "love", "pink", "romance", "heart", "blossom", "valentine"),
    ),
    Theme(
        "coffee",
        ("#1c120c", "#3b2416", "#6f4e37", "#a67b5b", "#ecd9c6"),
        "gradient",
        0.5,
        135,
        ("coffee", "cafe", "morning", "breakfast", "cozy", "book", "read", "tea", "chocolate", "bakery"),
    ),
    Theme(
        "calm",
        ("#0f2027", "#203a43", "#2c5364", "#6fb1c8"),
        "gradient",
        0.5,
        60,
        ("calm", "relax", "meditation", "sleep", "peace", "mindful", "breathe", "yoga", "quiet", "health"),
    ),
    Theme(
        "science",
        ("#03071e", "#023e8a", "#0077b6", "#00b4d8", "#90e0ef"),
        "particles",
        0.8,
        300,
        (
            "science",
            "atom",
            "cell",
            "biology",
            "physics",
            "chemistry",
            "lab",
            "research",
            "molecule",
            "discover",
            "dna",
            "brain",
        ),
    ),
    Theme(
        "history",
        ("#1b1410", "#3e2f23", "#7f5539", "#b08968", "#ddb892"),
        "noise",
        0.35,
        45,
        ("history", "ancient", "old", "war", "empire", "century", "museum", "vintage", "past", "story"),
    ),
    Theme(
        "sport",
        ("#03045e", "#d00000", "#ffba08", "#3f88c5"),
        "particles",
        1.8,
        340,
        (
            "sport",
            "sports",
            "game",
            "win",
            "team",
            "match",
            "run",
            "race",
            "football",
            "soccer",
            "goal",
            "training",
            "fitness",
            "gym",
        ),
    ),
    Theme(
        "mountain",
        ("#0d1b2a", "#1b263b", "#415a77", "#778da9", "#e0e1dd"),
        "waves",
        0.3,
        180,
        ("mountain", "mountains", "peak", "alps", "climb", "valley", "lake", "adventure", "travel", "trip"),
    ),
    Theme(
        "food",
        ("#250902", "#640d14", "#ad2831", "#f4a259", "#f7d08a"),
        "bokeh",
        0.7,
        30,
        ("food", "recipe", "cook", "cooking", "kitchen", "pizza", "dinner", "taste", "delicious", "chef"),
    ),
)

FALLBACK_ORDER = ("calm", "tech", "sunset", "ocean", "neon", "forest", "gold", "space", "city", "rain")


@dataclass(frozen=True)
class StylePreset:
    name: str
    title_font: FontName
    title_weight: Weight
    body_font: FontName
    body_weight: Weight
    title_size: float
    body_size: float
    animate_in: AnimationKind
    title_in: AnimationKind
    transition: TransitionKind
    transition_s: float
    motion: float
    align: Align
    body_y: float
    letterbox: bool = False
    accent: str | None = None
    kinds: tuple[BackgroundKind, ...] = field(default_factory=tuple)
    palette_shift: str | None = None


STYLES: dict[Style, StylePreset] = {
    "cinematic": StylePreset(
        "cinematic",
        "serif",
        "bold",
        "serif",
        "regular",
        118,
        84,
        "fade",
        "scale",
        "crossfade",
        0.9,
        0.6,
        "center",
        0.5,
        letterbox=True,
        accent="#e9c46a",
    ),
    "minimal": StylePreset(
        "minimal",
        "sans",
        "bold",
        "sans",
        "regular",
        104,
        70,
        "slide_up",
        "slide_up",
        "cut",
        0.0,
        0.4,
        "left",
        0.5,
        accent="#ffffff",
        kinds=("gradient", "solid", "waves"),
    ),
    "neon": StylePreset(
        "neon",
        "display",
        "bold",
        "display",
        "bold",
        124,
        80,
        "scale",
        "scale",
        "slide",
        0.45,
        1.4,
        "center",
        0.5,
        accent="#f72585",
        kinds=("particles", "noise", "starfield"),
        palette_shift="neon",
    ),
    "retro": StylePreset(
        "retro",
        "mono",
        "bold",
        "condensed",
        "bold",
        100,
        76,
        "typewriter",
        "typewriter",
        "wipe",
        0.5,
        0.9,
        "center",
        0.5,
        accent="#f4a259",
        kinds=("waves", "gradient"),
        palette_shift="retro",
    ),
    "documentary": StylePreset(
        "documentary",
        "serif",
        "bold",
        "serif",
        "regular",
        104,
        72,
        "fade",
        "fade",
        "crossfade",
        1.0,
        0.35,
        "left",
        0.74,
        accent="#d4a373",
        kinds=("bokeh", "gradient", "noise"),
    ),
}
