"""Text to RGBA with Pillow: font lookup, wrapping that never clips, drop shadows, caption boxes.

Fonts come from the Debian packages fonts-dejavu-core and fonts-noto-core; when none is found Pillow's
built-in font is used (it scales since Pillow 10.1), so rendering never fails for want of a font.
Characters the chosen font lacks (emoji, symbols, other scripts) are drawn with the first fallback font
that has them (DejaVu Sans, then Symbola from fonts-symbola: monochrome emoji in the text's colour);
characters no installed font has are left out rather than drawn as empty boxes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

log = logging.getLogger(__name__)

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"), Path("/usr/share/fonts"))
_FONT_FILES: dict[tuple[str, str], tuple[str, ...]] = {
    ("sans", "regular"): ("noto/NotoSans-Regular.ttf", "dejavu/DejaVuSans.ttf"),
    ("sans", "bold"): ("noto/NotoSans-Bold.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    ("serif", "regular"): ("noto/NotoSerif-Regular.ttf", "dejavu/DejaVuSerif.ttf"),
    ("serif", "bold"): (
        "noto/NotoSerifDisplay-Bold.ttf",
        "noto/NotoSerif-Bold.ttf",
        "dejavu/DejaVuSerif-Bold.ttf",
    ),
    ("mono", "regular"): ("dejavu/DejaVuSansMono.ttf",),
    ("mono", "bold"): ("dejavu/DejaVuSansMono-Bold.ttf",),
    ("display", "regular"): ("noto/NotoSansDisplay-Regular.ttf", "dejavu/DejaVuSans.ttf"),
    ("display", "bold"): ("noto/NotoSansDisplay-Bold.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    ("condensed", "regular"): ("dejavu/DejaVuSansCondensed.ttf",),
    ("condensed", "bold"): ("dejavu/DejaVuSansCondensed-Bold.ttf",),
}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

#: Tried in order for characters the chosen font does not have.
_FALLBACK_FILES = (
    "dejavu/DejaVuSans.ttf",
    "noto/NotoSans-Regular.ttf",
    "ancient-scripts/Symbola_hint.ttf",
    "ancient-scripts/Symbola.ttf",
    "noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk, if installed (not by default: 50+ MB)
)
#: Below this code point every text font we use has every character (Latin, Latin-1, Latin Extended).
_SAFE_BELOW = 0x250
#: Invisible joiners and selectors that only matter to colour-emoji shaping; dropped.
_INVISIBLE = frozenset({0x200D, 0xFE0E, 0xFE0F})


@lru_cache(maxsize=32)
def font_file(family: str, weight: str) -> Path | None:
    """The first installed file for a family and weight, or None."""
    for name in _FONT_FILES.get((family, weight), ()) + _FONT_FILES[("sans", weight)]:
        for base in FONT_DIRS:
            path = base / name
            if path.exists():
                return path
    return None


@lru_cache(maxsize=16)
def _coverage(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (read from its cmap)."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    try:
        return frozenset(TTFont(path, lazy=True, fontNumber=0).getBestCmap() or ())
    except Exception:  # noqa: BLE001 - an unreadable font covers nothing
        log.warning("cannot read the character map of %s", path)
        return frozenset()


@lru_cache(maxsize=1)
def _fallback_paths() -> tuple[str, ...]:
    found = []
    for name in _FALLBACK_FILES:
        for base in FONT_DIRS:
            if (base / name).exists():
                found.append(str(base / name))
                break
    return tuple(found)


@lru_cache(maxsize=64)
def _font_at(path: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, px)


def runs(font: Font, text: str) -> list[tuple[Font, str]]:
    """``text`` split into runs that one font each can draw; characters no font has are dropped."""
    if (
        not text
        or all(ord(ch) < _SAFE_BELOW for ch in text)
        or not isinstance(font, ImageFont.FreeTypeFont)
        or not isinstance(font.path, str | Path)  # Pillow's built-in font: nothing to look up, draw as is
    ):
        return [(font, text)] if text else []
    chain: list[Font] = [font]
    covers = [_coverage(str(font.path))]
    for path in _fallback_paths():
        if path != font.path:
            chain.append(_font_at(path, int(font.size)))
            covers.append(_coverage(path))
    out: list[tuple[Font, str]] = []
    for ch in text:
        code = ord(ch)
        if code in _INVISIBLE:
            continue
        index = 0 if ch.isspace() else next((k for k, cov in enumerate(covers) if code in cov), -1)
        if index < 0:
            continue
        if out and out[-1][0] is chain[index]:
            out[-1] = (chain[index], out[-1][1] + ch)
        else:
            out.append((chain[index], ch))
    return out


def draw_line(draw: ImageDraw.ImageDraw, xy: tuple[int, int], line: str, font: Font, fill: object) -> None:
    """Draw one line at its top-left ``xy``, switching fonts where the line needs a fallback."""
    x, y = xy
    parts = runs(font, line)
    if len(parts) <= 1 and (not parts or parts[0][0] is font):
        draw.text((x, y), parts[0][1] if parts else "", font=font, fill=fill)  # type: ignore[arg-type]
        return
    # Mixed fonts share the chosen font's baseline.
    baseline = y + (font.getmetrics()[0] if isinstance(font, ImageFont.FreeTypeFont) else 0)
    for part_font, part in parts:
        draw.text((x, baseline), part, font=part_font, fill=fill, anchor="ls")  # type: ignore[arg-type]
        x += int(round(part_font.getlength(part)))


@lru_cache(maxsize=128)
def load_font(family: str, weight: str, px: int) -> Font:
    path = font_file(family, weight)
    if path is None:
        log.warning("no TrueType font for %s %s; using Pillow's default font", family, weight)
        return ImageFont.load_default(size=px)
    return ImageFont.truetype(str(path), px)


@dataclass(frozen=True)
class TextBlock:
    """A laid-out block: lines, their x offsets inside the block, line height and the block size."""

    lines: tuple[str, ...]
    xs: tuple[int, ...]
    line_h: int
    width: int
    height: int
    font: Font
    px: int


def _text_w(font: Font, text: str) -> int:
    return sum(int(round(f.getlength(part))) for f, part in runs(font, text)) if text else 0


def _wrap(font: Font, text: str, max_w: int) -> list[str] | None:
    """Greedy word wrap; None if a single word is wider than ``max_w``."""
    out: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split():
            trial = f"{line} {word}" if line else word
            if _text_w(font, trial) <= max_w:
                line = trial
                continue
            if not line or _text_w(font, word) > max_w:
                return None
            out.append(line)
            line = word
        out.append(line)
    return out


def layout(text: str, family: str, weight: str, px: int, max_w: int, max_h: int, align: str) -> TextBlock:
    """Wrap ``text`` into ``max_w``; shrink the font until the block fits ``max_w`` x ``max_h``."""
    px = max(6, px)
    while True:
        font = load_font(family, weight, px)
        lines = _wrap(font, text, max_w)
        line_h = int(round(px * 1.22))
        if lines is not None and line_h * len(lines) <= max_h or px <= 6:
            if lines is None:  # even 6 px does not fit: hard-break characters
                lines = [text[i : i + 8] for i in range(0, len(text), 8)]
            widths = [_text_w(font, line) for line in lines]
            width = max(widths) if widths else 1
            xs = tuple(
                0 if align == "left" else (width - w if align == "right" else (width - w) // 2)
                for w in widths
            )
            return TextBlock(tuple(lines), xs, line_h, width, line_h * len(lines), font, px)
        px = max(6, int(px * 0.9))


def render_block(
    block: TextBlock,
    colour: tuple[int, int, int],
    *,
    shadow: bool = True,
    box: tuple[int, int, int] | None = None,
    box_alpha: int = 150,
    visible_chars: int | None = None,
) -> Image.Image:
    """Draw a block to RGBA with padding for its shadow or box; ``visible_chars`` for the typewriter."""
    px = block.px
    pad = max(2, int(px * (0.38 if box else 0.3)))
    w, h = block.width + 2 * pad, block.height + 2 * pad
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    if box is not None:
        ImageDraw.Draw(img).rounded_rectangle(
            (0, 0, w - 1, h - 1), radius=max(2, int(px * 0.35)), fill=(*box, box_alpha)
        )
    lines = _visible_lines(block.lines, visible_chars)
    top = pad - int(px * 0.05)
    if shadow and box is None:
        mask = Image.new("L", (w, h), 0)
        md = ImageDraw.Draw(mask)
        off = max(1, px // 24)
        for i, line in enumerate(lines):
            draw_line(md, (pad + block.xs[i] + off, top + i * block.line_h + off), line, block.font, 200)
        mask = mask.filter(ImageFilter.GaussianBlur(max(1.0, px / 12)))
        shade = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        shade.putalpha(mask)
        img = Image.alpha_composite(img, shade)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw_line(draw, (pad + block.xs[i], top + i * block.line_h), line, block.font, (*colour, 255))
    return img


def _visible_lines(lines: tuple[str, ...], visible: int | None) -> list[str]:
    if visible is None:
        return list(lines)
    out: list[str] = []
    left = visible
    for line in lines:
        out.append(line[: max(0, left)])
        left -= len(line) + 1
    return out


def char_count(block: TextBlock) -> int:
    return sum(len(line) + 1 for line in block.lines)
