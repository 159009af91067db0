"""Prompt -> timeline, offline and deterministic: sentences become scenes, words choose the look.

The first scene is a title card; each sentence (merged when the video is too short for all of them)
becomes a scene whose background theme comes from the lexicon (``lexicon.py``), falling back to a theme
chosen from the text and the seed. Scene lengths are weighted by text length and fitted to exactly
``round(duration_s * fps)`` frames. The style preset (cinematic, minimal, neon, retro, documentary; chosen
from the seed when not given) sets the fonts, animations, transitions and framing.

>>> from framecast.domain.options import VideoOptions
>>> tl = plan("A calm ocean at dawn. Waves roll in.", VideoOptions(duration_s=6, seed=3))
>>> len(tl.scenes), tl.total_frames
(3, 180)
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from framecast.domain.options import Style, VideoOptions, frame_size
from framecast.domain.timeline import (
    Align,
    Animation,
    Audio,
    Background,
    BackgroundKind,
    Canvas,
    CaptionLayer,
    Layer,
    Scene,
    ShapeLayer,
    TextLayer,
    Timeline,
    Transition,
    derive_seed,
)
from framecast.render.drawing.backgrounds import planner_alternatives
from framecast.render.drawing.color import luminance
from framecast.render.words.lexicon import FALLBACK_ORDER, STYLES, THEMES, StylePreset, Theme
from framecast.render.words.picture import World, accent_under, first_world, fit_words, next_world
from framecast.render.words.reading import read
from framecast.render.words.staging import Stage, stage
from framecast.render.words.subjects import sentence_tokens
from framecast.render.words.titles import title_of

_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_WORD = re.compile(r"[A-Za-z0-9']+")
_MIN_SCENE_S = 2.2
_NEON = ("#05010f", "#240046", "#7b2cbf", "#ff00c8", "#00f5ff")
_RETRO = ("#2d1b33", "#7b2d26", "#d1603d", "#f4a259", "#f6e7cb")


def sentences(prompt: str) -> list[str]:
    """Sentences of a prompt (very long ones split at commas), without empty pieces."""
    out: list[str] = []
    for raw in _SENTENCE.split(prompt.strip()):
        s = " ".join(raw.split()).strip(" -")
        if not s:
            continue
        if len(s.split()) > 22 and "," in s:
            out.extend(p.strip() for p in s.split(",") if p.strip())
        else:
            out.append(s)
    return out or [prompt.strip()[:200] or "Untitled"]


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def theme_for(text: str, rng: random.Random, default: Theme | None = None) -> Theme:
    """The theme whose words the text mentions most; otherwise ``default`` or one picked from the text."""
    ws = words(text)
    best, score = None, 0
    for theme in THEMES:
        hits = sum(1 for w in ws if w in theme.words or w.rstrip("s") in theme.words)
        if hits > score:
            best, score = theme, hits
    if best is not None:
        return best
    if default is not None:
        return default
    name = FALLBACK_ORDER[(sum(map(ord, text)) + rng.randrange(1000)) % len(FALLBACK_ORDER)]
    return next(t for t in THEMES if t.name == name)


def _merge(parts: list[str], n: int) -> list[str]:
    """Merge neighbouring sentences until there are at most ``n``, shortest pairs first."""
    parts = list(parts)
    while len(parts) > n:
        i = min(range(len(parts) - 1), key=lambda k: len(parts[k]) + len(parts[k + 1]))
        parts[i : i + 2] = [parts[i] + " " + parts[i + 1]]
    return parts


def _fit_frames(weights: list[float], total: int) -> list[int]:
    """Whole frames proportional to ``weights`` that sum to exactly ``total`` (each at least 1)."""
    s = sum(weights)
    raw = [w / s * total for w in weights]
    frames = [max(1, int(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    k = 0
    while sum(frames) < total:
        frames[order[k % len(order)]] += 1
        k += 1
    while sum(frames) > total:
        i = max(range(len(frames)), key=lambda j: frames[j])
        frames[i] -= 1
    return frames


def _palette(theme: Theme, style: StylePreset, rng: random.Random) -> list[str]:
    pal = list(theme.palette)
    if style.palette_shift == "neon":
        pal = [pal[0], *_NEON[1:]] if theme.name not in ("neon", "space") else pal
    elif style.palette_shift == "retro" and theme.name not in ("sunset", "desert", "coffee"):
        pal = list(_RETRO)
    if rng.random() < 0.3:
        pal = pal[::-1] if luminance(pal[-1]) < 0.35 else pal
    return pal


def _legible(palette: list[str], dark_text: bool) -> list[str]:
    """Scale colours so text stays readable: at most 0.42 luminance under white text, 0.6+ under dark."""
    out = []
    for c in palette:
        lum = max(luminance(c), 1e-3)
        r, g, b = (int(c[i : i + 2], 16) for i in (1, 3, 5))
        if not dark_text and lum > 0.42:
            k = 0.42 / lum
            r, g, b = int(r * k), int(g * k), int(b * k)
        elif dark_text and lum < 0.6:
            k = (0.6 - lum) / (1 - lum)
            r, g, b = (int(v + (255 - v) * k) for v in (r, g, b))
        out.append(f"#{r:02x}{g:02x}{b:02x}")
    return out


def _text_colour(palette: list[str]) -> tuple[str, bool]:
    """White text with a shadow on dark backgrounds, near-black without one on light ones."""
    mean = sum(luminance(c) for c in palette) / len(palette)
    return ("#14161a", False) if mean > 0.62 else ("#ffffff", True)


def plan(prompt: str, options: VideoOptions) -> Timeline:
    """Plan a timeline for ``prompt`` with ``options``; the same prompt and seed give the same timeline."""
    seed = options.seed if options.seed is not None else derive_seed(prompt.strip())
    rng = random.Random(seed)
    style_name: Style = options.style if options.style is not None else rng.choice(sorted(STYLES))
    style = STYLES[style_name]
    outline = _outline(prompt, options, rng)
    scenes: list[Scene] = []
    previous: BackgroundKind | None = None
    overall = read(prompt)
    world = first_world(overall, night=style.palette_shift == "neon")
    pictured = False
    for i, n in enumerate(outline.frames):
        text = outline.title if i == 0 else outline.body[i - 1]
        theme = outline.overall if i == 0 else theme_for(text, rng, default=outline.overall)
        kind = previous = _background_kind(theme, style, previous, rng)
        palette = _palette(theme, style, rng)
        reading = read(text)
        # A video that shows something stays in its world; a sentence that names nothing is words only.
        pictured = reading.illustrated or overall.illustrated and (i == 0 or pictured)
        picture: World | None = None
        if pictured:
            world = next_world(reading, text, world, first=i == 0)
            picture = world
        repeat = i > 0 and text.rstrip(".!?;:") == outline.title
        scene = _scene(i, text, n / options.fps, palette, kind, theme, style, rng, options, picture, repeat)
        scenes.append(scene)
    return Timeline(
        canvas=Canvas(aspect=options.aspect, resolution=options.resolution, fps=options.fps),
        scenes=scenes,
        audio=Audio(voiceover=options.voiceover, music="procedural"),
        seed=seed,
        style=style_name,
        title=outline.title[:200],
    )


@dataclass(frozen=True)
class _Outline:
    """What the prompt says, before any look: the title, the sentences after it (one scene each), the
    theme of the whole video, and every scene's length in frames (the title card first)."""

    title: str
    body: list[str]
    overall: Theme
    frames: list[int]


def _outline(prompt: str, options: VideoOptions, rng: random.Random) -> _Outline:
    total = max(1, round(options.duration_s * options.fps))
    duration = total / options.fps
    parts = sentences(prompt)
    title = title_of(parts)
    overall = theme_for(parts[0], rng, default=theme_for(prompt, rng))
    title_s = min(3.0, max(1.5, duration * 0.22))
    room = duration - title_s
    n_content = int(room // _MIN_SCENE_S)
    body = parts[1:] if len(parts) > 1 and title == parts[0].rstrip(".!?;:") else parts
    if n_content < 1 or not body:
        body = []
    body = _merge(body, max(1, n_content)) if body else []

    weights = [title_s * 1.0] + [1.6 + 0.22 * len(p.split()) for p in body]
    if body:
        # The title card keeps its share; sentences split the rest by length.
        rest = sum(weights[1:])
        weights = [title_s] + [w / rest * room for w in weights[1:]]
    return _Outline(title, body, overall, _fit_frames(weights, total))


def _background_kind(
    theme: Theme, style: StylePreset, previous: BackgroundKind | None, rng: random.Random
) -> BackgroundKind:
    """The theme's kind, often one of the style's instead, and seldom the kind of the scene before."""
    kind = theme.kind
    if style.kinds and kind not in style.kinds and rng.random() < 0.6:
        kind = rng.choice(style.kinds)
    if kind == previous and rng.random() < 0.5:
        kind = rng.choice([k for k in planner_alternatives() if k != kind])
    return kind


def _scene(
    i: int,
    text: str,
    seconds: float,
    palette: list[str],
    kind: BackgroundKind,
    theme: Theme,
    style: StylePreset,
    rng: random.Random,
    options: VideoOptions,
    picture: World | None = None,
    repeat: bool = False,
) -> Scene:
    """Scene ``i`` (0: the title card) showing ``text`` for ``seconds``; with ``picture``, an illustrated
    scene of that world (``repeat``: its sentence is the title's, so it shows the picture alone).

    Layers name their ``type`` although it is the default: a tag that was set survives
    ``model_dump(exclude_unset=True)``, so such a dump still parses.
    """
    if picture is not None:
        return _pictured_scene(i, text, seconds, picture, style, rng, options, repeat)
    look = _look(i, seconds, palette, style, options)
    layers: list[Layer] = _letterbox() if style.letterbox and options.aspect == "16:9" else []
    if i == 0:
        layers += _title(text, look, style, seconds)
    elif options.voiceover:
        # Spoken scenes carry their words as large captions timed to the speech (synthesize_narration).
        layers.append(
            CaptionLayer(type="caption", text=text, start_s=0.3, size=58 if not look.vertical else 50)
        )
    else:
        layers.append(_body_text(text, look, style, seconds))
    return Scene(
        duration_s=seconds,
        background=Background(
            kind=kind,
            palette=_legible(palette, dark_text=not look.shadow),
            motion=round(min(4.0, theme.motion * style.motion * 1.4), 3),
            angle=_jittered_angle(theme.angle, rng),
            density=1.0,
        ),
        layers=layers,
        transition=_transition(style, seconds),
        narration=text,
    )


def _pictured_scene(
    i: int,
    text: str,
    seconds: float,
    world: World,
    style: StylePreset,
    rng: random.Random,
    options: VideoOptions,
    repeat: bool,
) -> Scene:
    """An illustrated scene: the words in the band at the top, the staged picture below them."""
    w, h = frame_size(options.aspect, options.resolution)
    dark = world.setting == "room" and world.time_of_day != "night"
    palette = ["#f4ecdf"] if dark else ["#10203a"]
    look = _look(i, seconds, palette, style, options)
    letterbox = style.letterbox and options.aspect == "16:9"
    layers: list[Layer] = _letterbox() if letterbox else []
    words: list[Layer] = []
    clear_below = 0.0
    floor = 1.0
    if i == 0:
        title, *accent = _title(text, look, style, seconds)
        assert isinstance(title, TextLayer)
        fitted, clear_below = fit_words(title, w, h, options.aspect, letterbox)
        words.append(fitted)
        for bar in accent:
            assert isinstance(bar, ShapeLayer)
            words.append(accent_under(bar, clear_below))
            clear_below += 0.02
    elif options.voiceover:
        size = 58 if not look.vertical else 50
        words.append(CaptionLayer(type="caption", text=text, start_s=0.3, size=size))
        floor = 1.0 - 0.07 - 2.9 * 1.22 * size / 1080 * min(w, h) / h
    elif not repeat:
        fitted, clear_below = fit_words(
            _body_text(text, look, style, seconds), w, h, options.aspect, letterbox
        )
        words.append(fitted)
    staged = stage(
        world.cast,
        Stage(
            width=w,
            height=h,
            aspect=options.aspect,
            seconds=seconds,
            clear_below=max(clear_below, 0.1 if letterbox else 0.04),
            setting=world.setting,
            time_of_day=world.time_of_day,
            clouds=world.clouds,
            effects=world.effects,
            style=style.name,
            rng=rng,
            floor=floor,
            words=tuple(sentence_tokens(text)),
        ),
    )
    return Scene(
        duration_s=seconds,
        background=staged.background,
        camera=staged.camera,
        layers=[*layers, *staged.layers, *words],
        transition=_transition(style, seconds),
        narration=text,
    )


@dataclass(frozen=True)
class _Look:
    """How a scene sets its words: colour and shadow, alignment, how long entrances take, how words leave."""

    colour: str
    shadow: bool
    vertical: bool
    align: Align
    x: float
    in_s: float
    out: Animation


_STILL = Animation(kind="none", duration_s=0)


def _look(i: int, seconds: float, palette: list[str], style: StylePreset, options: VideoOptions) -> _Look:
    colour, shadow = _text_colour(palette)
    vertical = options.aspect == "9:16"
    align: Align = "center" if vertical or i == 0 and style.align != "left" else style.align
    # Before a cut the words fade out; otherwise the transition takes them away.
    out = Animation(kind="fade", duration_s=min(0.4, seconds * 0.15)) if style.transition == "cut" else _STILL
    x = 0.5 if align == "center" else 0.08
    return _Look(colour, shadow, vertical, align, x, min(0.8, seconds * 0.25), out)


def _letterbox() -> list[Layer]:
    """Black bars at the top and bottom (cinematic, 16:9 only)."""
    return [
        ShapeLayer(
            type="shape",
            shape="rect",
            x=0.5,
            y=y,
            width=1.0,
            height=0.2,
            color="#000000",
            animate_in=_STILL,
            animate_out=_STILL,
        )
        for y in (0.0, 1.0)
    ]


def _title(text: str, look: _Look, style: StylePreset, seconds: float) -> list[Layer]:
    """The title card's words, and the style's accent bar under them."""
    title = TextLayer(
        type="text",
        text=text,
        font=style.title_font,
        weight=style.title_weight,
        size=style.title_size * (0.82 if look.vertical else 1.0),
        color=look.colour,
        shadow=look.shadow,
        x=look.x,
        y=0.46,
        align=look.align,
        max_width=0.84 if not look.vertical else 0.86,
        animate_in=Animation(
            kind=style.title_in,
            duration_s=max(0.3, look.in_s * (1.6 if style.title_in == "typewriter" else 1)),
        ),
        animate_out=look.out,
    )
    if not style.accent:
        return [title]
    accent = ShapeLayer(
        type="shape",
        shape="rect",
        x=look.x if look.align == "center" else look.x + 0.06,
        y=0.46 + (0.14 if not look.vertical else 0.1),
        width=0.12 if not look.vertical else 0.2,
        height=0.008 if not look.vertical else 0.004,
        color=style.accent if look.colour == "#ffffff" else look.colour,
        start_s=min(0.3, seconds * 0.1),
        animate_in=Animation(kind="slide_right" if look.align != "center" else "scale", duration_s=look.in_s),
        animate_out=look.out,
    )
    return [title, accent]


def _body_text(text: str, look: _Look, style: StylePreset, seconds: float) -> TextLayer:
    """A sentence of a content scene, larger when it is short (documentary: white on a black box)."""
    n_words = len(text.split())
    size = style.body_size * (1.15 if n_words <= 5 else 1.0 if n_words <= 12 else 0.82)
    if look.vertical:
        size *= 1.12
    box = "#000000" if style.name == "documentary" else None
    return TextLayer(
        type="text",
        text=text,
        font=style.body_font,
        weight=style.body_weight,
        size=size,
        color="#ffffff" if box else look.colour,
        shadow=look.shadow and box is None,
        x=look.x,
        y=style.body_y if not look.vertical else 0.45,
        align=look.align,
        max_width=0.8 if not look.vertical else 0.86,
        box=box,
        animate_in=Animation(
            kind=style.animate_in,
            duration_s=look.in_s * (1.8 if style.animate_in == "typewriter" else 1),
        ),
        animate_out=look.out,
        start_s=min(0.25, seconds * 0.08),
    )


def _jittered_angle(angle: float, rng: random.Random) -> float:
    """The theme's angle give or take 25 degrees, kept within the 360 degrees a background allows
    (the same direction: 365 degrees draws as 5)."""
    jittered = float(angle + rng.randrange(-25, 26))
    return jittered - 360 if jittered > 360 else jittered


def _transition(style: StylePreset, seconds: float) -> Transition:
    if style.transition == "cut":
        return Transition(kind="cut", duration_s=0.0)
    return Transition(kind=style.transition, duration_s=min(style.transition_s, seconds * 0.4))
