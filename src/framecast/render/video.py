"""Entry points for the job handlers: render a video (or a chunk of it), a poster, a spritesheet.

>>> # info = render_video(plan("A sunset over the ocean", VideoOptions()), Path("out.mp4"))
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from framecast.domain.errors import Cancelled, InvalidInput
from framecast.domain.timeline import Timeline
from framecast.render.assets import AssetPath
from framecast.render.drawing.planes import Planes
from framecast.render.encoding.encode import VideoWriter, probe, rgb_frames_at, yuv420p_to_rgb
from framecast.render.encoding.info import VideoInfo
from framecast.render.frames import SCENE_POOL, FrameSource

__all__ = [
    "VideoInfo",
    "poster_from_video",
    "render_poster",
    "render_spritesheet",
    "render_video",
    "spritesheet_from_video",
]

log = logging.getLogger(__name__)


def render_video(
    timeline: Timeline,
    out_path: Path,
    *,
    start_frame: int = 0,
    end_frame: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    frame_delay_s: float = 0.0,
    asset_path: AssetPath | None = None,
) -> VideoInfo:
    """Render frames ``[start_frame, end_frame)`` to an H.264 yuv420p faststart MP4 at ``out_path``.

    A chunk (``start_frame`` > 0) must start on a GOP boundary (see :func:`chunk_ranges`) so the chunks
    join without re-encoding. ``on_progress(done, total)`` is called after every frame (the caller
    throttles); ``should_stop()`` is checked before every frame and ``True`` raises :class:`Cancelled`
    (the partial file is left for the caller to delete). ``asset_path`` maps uploaded asset ids to files.
    """
    total = timeline.total_frames
    end = total if end_frame is None else min(end_frame, total)
    if not 0 <= start_frame < end:
        raise InvalidInput(f"frame range [{start_frame}, {end}) is empty or outside 0..{total}")
    # The next chunk of this video in this process starts with the scenes this one prepared.
    source = FrameSource(timeline, asset_path, end_frame=end, pool=SCENE_POOL)
    w, h, fps = timeline.canvas.width, timeline.canvas.height, timeline.canvas.fps
    count = end - start_frame
    began = time.perf_counter()
    finished = False
    try:
        with VideoWriter(out_path, w, h, fps) as writer:
            for n, index in enumerate(range(start_frame, end)):
                if should_stop is not None and should_stop():
                    raise Cancelled("the render was cancelled")
                planes = writer.acquire()
                source.frame(index, out=planes)
                writer.submit(planes)
                if frame_delay_s > 0:
                    time.sleep(frame_delay_s)
                if on_progress is not None:
                    on_progress(n + 1, count)
        finished = True
    finally:
        # Only a render that ran to its end leaves its scenes for the next chunk: an exception (a time
        # limit, say) can stop a scene in the middle of updating its texture.
        source.close(keep=finished)
    elapsed = time.perf_counter() - began
    log.info("rendered %d frames %dx%d in %.2fs (%.1f fps)", count, w, h, elapsed, count / max(elapsed, 1e-9))
    return VideoInfo(w, h, fps, count, count / fps)


def frame_rgb(timeline: Timeline, at_s: float, asset_path: AssetPath | None = None) -> Image.Image:
    """One frame as a Pillow RGB image (what the video shows at ``at_s``)."""
    index = min(timeline.total_frames - 1, max(0, int(round(at_s * timeline.canvas.fps))))
    source = FrameSource(timeline, asset_path, end_frame=index + 1)
    return rgb_image(source.frame(index))


def rgb_image(planes: Planes) -> Image.Image:
    """A drawn frame as a Pillow RGB image (posters, thumbnails, the gallery)."""
    return Image.fromarray(yuv420p_to_rgb(planes.buf))


def poster_time(timeline: Timeline) -> float:
    """A good still: the middle of the first scene after its entrance animations (the title card)."""
    first = timeline.scenes[0].duration_s
    return min(timeline.duration_s - 1 / timeline.canvas.fps, max(0.0, min(first * 0.6, first - 0.2, 2.5)))


def render_poster(
    timeline: Timeline, out_path: Path, at_s: float | None = None, *, asset_path: AssetPath | None = None
) -> tuple[int, int]:
    """Write a JPEG still of the video at ``at_s`` (default :func:`poster_time`); returns (width, height)."""
    img = frame_rgb(timeline, poster_time(timeline) if at_s is None else at_s, asset_path)
    img.save(out_path, format="JPEG", quality=88, optimize=True, progressive=True)
    return img.width, img.height


def render_spritesheet(
    timeline: Timeline,
    out_path: Path,
    every_s: float = 2.0,
    *,
    tile_width: int = 160,
    asset_path: AssetPath | None = None,
) -> dict[str, float | int]:
    """A JPEG grid of thumbnails, one every ``every_s`` seconds, for seek previews.

    Returns ``{columns, rows, count, tile_width, tile_height, interval_s}``; tile ``k`` shows time
    ``k * interval_s`` and sits at column ``k % columns``, row ``k // columns``.
    """
    every_s = max(every_s, 1 / timeline.canvas.fps)
    count = max(1, int(math.floor((timeline.duration_s - 1e-9) / every_s)) + 1)
    columns = min(10, count)
    rows = math.ceil(count / columns)
    w, h = timeline.canvas.width, timeline.canvas.height
    tw = tile_width
    th = max(2, int(round(h * tw / w)))
    sheet = Image.new("RGB", (columns * tw, rows * th), (0, 0, 0))
    # Timelines are resolution independent, so thumbnails are synthesised at twice the tile size instead of
    # at full size and shrunk: the same picture for a fraction of the work (this task runs beside the chunks).
    small_w = min(w, 2 * tw + (2 * tw) % 2)
    small_h = max(2, int(round(h * small_w / w / 2)) * 2)
    small = timeline.model_copy(
        update={"canvas": timeline.canvas.model_copy(update={"width": small_w, "height": small_h})}
    )
    source = FrameSource(small, asset_path)
    for k in range(count):
        index = min(timeline.total_frames - 1, int(round(k * every_s * timeline.canvas.fps)))
        tile = rgb_image(source.frame(index)).resize((tw, th), Image.Resampling.LANCZOS)
        sheet.paste(tile, ((k % columns) * tw, (k // columns) * th))
    sheet.save(out_path, format="JPEG", quality=80, optimize=True)
    return {
        "columns": columns,
        "rows": rows,
        "count": count,
        "tile_width": tw,
        "tile_height": th,
        "interval_s": every_s,
    }


def _sheet_layout(duration_s: float, fps: int, every_s: float) -> tuple[float, int, int, int]:
    """(interval, count, columns, rows) of a spritesheet of a video ``duration_s`` long."""
    every_s = max(every_s, 1 / fps)
    count = max(1, int(math.floor((duration_s - 1e-9) / every_s)) + 1)
    columns = min(10, count)
    return every_s, count, columns, math.ceil(count / columns)


def poster_from_video(video_path: Path, out_path: Path) -> tuple[int, int]:
    """A JPEG still from a finished video (an engine's): its middle frame; returns (width, height)."""
    info = probe(video_path)
    (frame,) = rgb_frames_at(video_path, [max(0, info.frames // 2)])
    img = Image.fromarray(frame)
    img.save(out_path, format="JPEG", quality=88, optimize=True, progressive=True)
    return img.width, img.height


def spritesheet_from_video(
    video_path: Path, out_path: Path, every_s: float = 2.0, *, tile_width: int = 160
) -> dict[str, float | int]:
    """The seek-preview grid of :func:`render_spritesheet`, with the same layout and metadata, taken from
    the frames of a finished video (an engine's) instead of drawn from a timeline."""
    info = probe(video_path)
    every_s, count, columns, rows = _sheet_layout(info.duration_s, info.fps, every_s)
    tw = tile_width
    th = max(2, int(round(info.height * tw / info.width)))
    indexes = [min(info.frames - 1, int(round(k * every_s * info.fps))) for k in range(count)]
    sheet = Image.new("RGB", (columns * tw, rows * th), (0, 0, 0))
    for k, frame in enumerate(rgb_frames_at(video_path, indexes)):
        tile = Image.fromarray(frame).resize((tw, th), Image.Resampling.LANCZOS)
        sheet.paste(tile, ((k % columns) * tw, (k // columns) * th))
    sheet.save(out_path, format="JPEG", quality=80, optimize=True)
    return {
        "columns": columns,
        "rows": rows,
        "count": count,
        "tile_width": tw,
        "tile_height": th,
        "interval_s": every_s,
    }
