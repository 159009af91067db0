"""Contact sheet of planner output: ten prompts x four frames at 16:9, 9:16 and 1:1 -> docs/gallery.png.

Run ``python -m framecast.render.gallery [out.png]``. Frames are drawn at 720p by the same code as the
video (no encoding) and scaled down, so the sheet shows what the MP4 shows.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from framecast.domain.options import Aspect, Style, VideoOptions
from framecast.render.drawing.text import load_font
from framecast.render.frames import FrameSource
from framecast.render.video import poster_time, rgb_image
from framecast.render.words.planner import plan

SAMPLES: tuple[tuple[str, Aspect, Style], ...] = (
    ("A paper boat drifting down a rainy street.", "16:9", "documentary"),
    ("A woman surfing at the beach at sunset. Seagulls fly over the waves.", "16:9", "cinematic"),
    (
        "A red car drives through the city at night. A bus passes by. The traffic lights blink.",
        "16:9",
        "neon",
    ),
    ("Launch day! Our rocket leaves the planet behind. Next stop: the stars.", "16:9", "cinematic"),
    ("Fireflies rising over a dark forest pond.", "9:16", "cinematic"),
    (
        "Pizza night with friends. Fresh pizza comes out of the oven. Everyone shares a slice.",
        "9:16",
        "retro",
    ),
    ("Elephants walk across the desert at dawn. A camel rests by an oasis.", "9:16", "documentary"),
    ("Two cats and a dog play in the kitchen. The cat jumps onto the table.", "1:1", "minimal"),
    (
        "Snow falls over a quiet mountain village. A snowman waves. Children sled down the hill.",
        "1:1",
        "cinematic",
    ),
    (
        "A sailboat crosses the calm sea. Dolphins jump beside it. The sun sets over the horizon.",
        "1:1",
        "minimal",
    ),
)


def sample_frames(prompt: str, aspect: Aspect, style: Style, seed: int = 11) -> list[Image.Image]:
    """Four frames of a planned 12 s 720p video: the title card and the middle of the next scenes."""
    tl = plan(prompt, VideoOptions(duration_s=12, aspect=aspect, resolution="720p", seed=seed, style=style))
    source = FrameSource(tl)
    bounds = tl.scene_frames()
    picks = [int(poster_time(tl) * tl.canvas.fps)]
    for i in range(1, len(tl.scenes)):
        picks.append(bounds[i] + int((bounds[i + 1] - bounds[i]) * 0.6))
    if len(picks) < 4 and len(tl.scenes) > 2:
        # mid-transition into the last scene: shows the crossfade / wipe / slide
        picks.append(bounds[-2] + int(tl.scenes[-1].transition.duration_s * tl.canvas.fps / 2))
    while len(picks) < 4:
        picks.append(int(tl.total_frames * 0.95))
    picks = sorted(picks[:4])
    return [rgb_image(source.frame(k)) for k in picks]


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if font.getlength(trial) > width and line:
            lines.append(line)
            line = word
        else:
            line = trial
    return "\n".join([*lines, line][:2])


def contact_sheet(width: int = 1600) -> Image.Image:
    label_h, gap = 30, 8
    rows: list[Image.Image] = []
    by_aspect: dict[str, list[tuple[str, Style, list[Image.Image]]]] = {}
    aspect: str
    for prompt, aspect_, style in SAMPLES:
        aspect = aspect_
        by_aspect.setdefault(aspect, []).append((prompt, style, sample_frames(prompt, aspect_, style)))
    font = load_font("sans", "regular", 17)
    for aspect, groups in by_aspect.items():
        if aspect == "16:9":
            # one prompt per row, four wide tiles
            for prompt, style, frames in groups:
                tw = (width - 3 * gap) // 4
                th = tw * frames[0].height // frames[0].width
                row = Image.new("RGB", (width, th + label_h), (18, 18, 22))
                ImageDraw.Draw(row).text(
                    (4, 6), f"{aspect} · {style} · {prompt[:150]}", font=font, fill=(220, 220, 225)
                )
                for k, f in enumerate(frames):
                    row.paste(f.resize((tw, th), Image.Resampling.LANCZOS), (k * (tw + gap), label_h))
                rows.append(row)
        else:
            # two prompts side by side, four tiles each
            tw = (width - 7 * gap - gap * 2) // 8
            th = tw * groups[0][2][0].height // groups[0][2][0].width
            for pair in (groups[k : k + 2] for k in range(0, len(groups), 2)):
                row = Image.new("RGB", (width, th + 2 * label_h - 8), (18, 18, 22))
                d = ImageDraw.Draw(row)
                for g, (prompt, style, frames) in enumerate(pair):
                    x0 = g * (4 * (tw + gap) + gap * 2)
                    label = _wrap(f"{aspect} · {style} · {prompt}", font, 4 * (tw + gap) - 8)
                    d.multiline_text((x0 + 4, 4), label, font=font, fill=(220, 220, 225), spacing=2)
                    for k, f in enumerate(frames):
                        row.paste(
                            f.resize((tw, th), Image.Resampling.LANCZOS),
                            (x0 + k * (tw + gap), 2 * label_h - 8),
                        )
                rows.append(row)
    sheet = Image.new("RGB", (width, sum(r.height + gap for r in rows)), (18, 18, 22))
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height + gap
    return sheet


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("docs/gallery.png")
    contact_sheet().save(out, optimize=True)


if __name__ == "__main__":
    main()
