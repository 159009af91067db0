from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from framecast.domain.errors import Cancelled
from framecast.domain.timeline import Timeline
from framecast.render.encoding.chunks import chunk_ranges
from framecast.render.encoding.encode import decode_frames, join_chunks, probe
from framecast.render.frames import SCENE_POOL
from framecast.render.video import render_poster, render_spritesheet, render_video


def test_render_video_writes_h264_at_timeline_size(
    tmp_path: Path, small_plan: Callable[..., Timeline]
) -> None:
    tl = small_plan()
    seen: list[tuple[int, int]] = []
    info = render_video(tl, tmp_path / "out.mp4", on_progress=lambda d, t: seen.append((d, t)))
    assert (info.width, info.height, info.fps, info.frames) == (192, 108, 24, tl.total_frames)
    assert seen[-1] == (tl.total_frames, tl.total_frames)
    with av.open(str(tmp_path / "out.mp4")) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        assert s.format.name == "yuv420p"
    assert probe(tmp_path / "out.mp4").frames == tl.total_frames
    # faststart: the index (moov) comes before the media data (mdat)
    head = (tmp_path / "out.mp4").read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))


def test_should_stop_raises_cancelled(tmp_path: Path, small_plan: Callable[..., Timeline]) -> None:
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    SCENE_POOL.clear()
    with pytest.raises(Cancelled):
        render_video(small_plan(), tmp_path / "x.mp4", should_stop=stop)
    assert len(SCENE_POOL) == 0  # a render that did not finish leaves nothing for later ones


def test_chunked_and_single_renders_decode_identically(
    tmp_path: Path, small_plan: Callable[..., Timeline]
) -> None:
    tl = small_plan(duration_s=5)
    render_video(tl, tmp_path / "single.mp4")
    ranges = chunk_ranges(tl.total_frames, tl.canvas.fps, 2.0)
    assert len(ranges) >= 2
    paths = []
    for k, (a, b) in enumerate(ranges):
        p = tmp_path / f"chunk{k}.mp4"
        render_video(tl, p, start_frame=a, end_frame=b)
        paths.append(p)
    info = join_chunks(paths, tmp_path / "joined.mp4")
    assert info.frames == tl.total_frames
    single = list(decode_frames(tmp_path / "single.mp4"))
    joined = list(decode_frames(tmp_path / "joined.mp4"))
    assert len(single) == len(joined) == tl.total_frames
    for a, b in zip(single, joined, strict=True):
        np.testing.assert_array_equal(a, b)


def test_chunks_after_chunks_reuse_prepared_scenes_and_draw_the_same(
    tmp_path: Path, small_plan: Callable[..., Timeline], monkeypatch: pytest.MonkeyPatch
) -> None:
    tl = small_plan(duration_s=8)
    ranges = chunk_ranges(tl.total_frames, tl.canvas.fps, 2.0)
    assert len(ranges) >= 3

    def render_all(name: str) -> list[np.ndarray]:
        frames = []
        for k, (a, b) in enumerate(ranges):
            render_video(tl, tmp_path / f"{name}{k}.mp4", start_frame=a, end_frame=b)
            frames += list(decode_frames(tmp_path / f"{name}{k}.mp4"))
        return frames

    SCENE_POOL.clear()
    pooled = render_all("pooled")
    assert SCENE_POOL.hits >= len(ranges) - 1  # every chunk after the first starts with a prepared scene
    monkeypatch.setattr(SCENE_POOL, "size", 0)
    SCENE_POOL.clear()
    fresh = render_all("fresh")
    assert SCENE_POOL.hits == 0
    assert len(pooled) == len(fresh) == tl.total_frames
    for a, b in zip(pooled, fresh, strict=True):
        np.testing.assert_array_equal(a, b)


def test_poster_and_spritesheet(tmp_path: Path, small_plan: Callable[..., Timeline]) -> None:
    tl = small_plan()
    assert render_poster(tl, tmp_path / "p.jpg") == (192, 108)
    meta = render_spritesheet(tl, tmp_path / "s.jpg", every_s=1.0)
    assert meta["count"] == 3 and meta["columns"] * meta["rows"] >= 3
    from PIL import Image

    with Image.open(tmp_path / "s.jpg") as img:
        assert img.size == (meta["columns"] * meta["tile_width"], meta["rows"] * meta["tile_height"])


# 320x180 draws straight into the encoder's frames; 330x186 (odd chroma rows, like 480x854) goes through
# the copy, because PyAV maps such planes wrongly.
@pytest.mark.parametrize("size", [(320, 180), (330, 186)])
def test_every_frame_reaches_the_encoder_intact(tmp_path: Path, size: tuple[int, int]) -> None:
    """The writer recycles a few frame buffers: each decoded frame must still be the one written, even when
    frames are queued faster than x264 takes them."""
    from framecast.render.encoding.encode import VideoWriter

    w, h = size
    rng = np.random.default_rng(7)
    written = []
    with VideoWriter(tmp_path / "seq.mp4", w, h, 24) as writer:
        for k in range(40):
            planes = np.empty((h * 3 // 2, w), np.uint8)
            planes[:h] = 30 + 5 * k  # luma steps every frame: a reused, overwritten buffer would show
            planes[h:] = 128
            planes[: h // 4, : w // 4] = rng.integers(0, 255, (h // 4, w // 4), dtype=np.uint8)
            written.append(planes.copy())
            writer.write(planes)
            planes[:] = 0  # the caller may reuse its buffer at once (the writer copied it)
    decoded = list(decode_frames(tmp_path / "seq.mp4"))
    assert len(decoded) == 40
    for k, frame in enumerate(decoded):
        luma = frame[h // 2 :, w // 2 : w][: h // 2]
        assert abs(float(luma.mean()) - (30 + 5 * k)) < 1.5, f"frame {k} does not show what was written"
        assert abs(float(frame[h:].mean()) - 128) < 2


@pytest.mark.parametrize("size", [(320, 180), (330, 186), (180, 320)])
def test_frames_drawn_into_the_encoder_match_the_source(tmp_path: Path, size: tuple[int, int]) -> None:
    """render_video draws each frame straight into an encoder frame (acquire/submit): the video must show
    what FrameSource draws on its own buffer, frame for frame, whichever way the frame reaches x264."""
    from framecast.domain.options import VideoOptions
    from framecast.render.frames import FrameSource
    from framecast.render.video import render_video
    from framecast.render.words import planner

    w, h = size
    tl = planner.plan("Stars over a desert. A neon city.", VideoOptions(duration_s=2, fps=24, seed=5))
    tl = tl.model_copy(update={"canvas": tl.canvas.model_copy(update={"width": w, "height": h})})
    render_video(tl, tmp_path / "v.mp4")
    source = FrameSource(tl)
    decoded = list(decode_frames(tmp_path / "v.mp4"))
    assert len(decoded) == tl.total_frames
    for k in (0, 11, 30, tl.total_frames - 1):
        want = source.frame(k).buf.astype(np.int16)
        # QP 20 H.264: close to the drawn frame, and a frame drawn into the wrong place would be far off.
        assert np.abs(decoded[k].astype(np.int16) - want).mean() < 3.0, f"frame {k}"


def test_an_encoder_failure_wakes_a_waiting_writer(tmp_path: Path) -> None:
    """x264 failing while the writer waits for a free frame must raise in the writer, not hang it."""
    from framecast.domain.errors import TaskFailed
    from framecast.render.encoding.encode import VideoWriter

    class Failing:
        def __init__(self, stream: object) -> None:
            self.stream, self.calls = stream, 0

        def encode(self, frame: object) -> list[object]:
            self.calls += 1
            if self.calls > 3:
                raise RuntimeError("encoder broke")
            return self.stream.encode(frame)  # type: ignore[attr-defined, no-any-return]

    writer = VideoWriter(tmp_path / "x.mp4", 64, 64, 24)
    writer._stream = Failing(writer._stream)  # type: ignore[assignment]
    planes = np.full((96, 64), 128, np.uint8)
    with pytest.raises(TaskFailed, match="encoder broke"):
        for _ in range(200):
            writer.write(planes)
        writer.close()
    writer.abort()
