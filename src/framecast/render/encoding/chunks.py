"""Frame ranges for parallel chunk rendering, aligned to the encoder's fixed GOP.

Every chunk starts on a keyframe of the single-file encode: the encoder places an IDR frame every
:func:`gop_frames` frames counted from its first frame, and a chunk starts at a multiple of that, so a chunk
encoder restarting at its first frame makes the same decisions as one encoder running through. Constant-QP
rate control keeps frames independent of what came before the GOP (see ``encode.py``).
"""

from __future__ import annotations

GOP_SECONDS = 2


def gop_frames(fps: int) -> int:
    """Frames per GOP (closed, fixed length, no scene-cut keyframes)."""
    return max(1, int(fps) * GOP_SECONDS)


def chunk_ranges(total_frames: int, fps: int, chunk_seconds: float) -> list[tuple[int, int]]:
    """Split ``[0, total_frames)`` into ``[start, end)`` ranges of whole GOPs, about ``chunk_seconds`` long.

    >>> chunk_ranges(300, 30, 4.0)
    [(0, 120), (120, 240), (240, 300)]
    >>> chunk_ranges(50, 30, 1.0)
    [(0, 50)]
    """
    if total_frames <= 0:
        return []
    gop = gop_frames(fps)
    gops_per_chunk = max(1, round(chunk_seconds * fps / gop))
    step = gops_per_chunk * gop
    ranges = [(start, min(start + step, total_frames)) for start in range(0, total_frames, step)]
    # A tail shorter than a quarter chunk is merged into the previous chunk: a task for a handful of frames
    # costs more in scheduling than it saves.
    if len(ranges) > 1 and ranges[-1][1] - ranges[-1][0] < step // 4:
        last = ranges.pop()
        ranges[-1] = (ranges[-1][0], last[1])
    return ranges
