from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from framecast.domain.errors import TaskFailed
from framecast.domain.options import VideoOptions
from framecast.domain.timeline import parse_timeline
from framecast.render.audio import caption_segments, render_music, synthesize_narration
from framecast.render.encoding.chunks import chunk_ranges
from framecast.render.encoding.encode import join_chunks
from framecast.render.frames import FrameSource
from framecast.render.video import render_video

OPTS = VideoOptions(resolution="360p", fps=25, seed=2, voiceover=True)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        return data, w.getframerate()


def narrated(music: str = "none"):  # type: ignore[no-untyped-def]
    black = {"kind": "solid", "palette": ["#000000"]}
    return parse_timeline(
        {
            "canvas": {"width": 128, "height": 72},
            "audio": {"music": music},
            "scenes": [
                {
                    "duration_s": 1.0,
                    "background": black,
                    "narration": "Hello there.",
                    "narration_start_s": 0.4,
                    "transition": {"kind": "cut"},
                },
                {"duration_s": 0.5, "background": black, "transition": {"kind": "cut"}},
                {
                    "duration_s": 1.0,
                    "background": black,
                    "narration": "Second scene speaks a little longer now.",
                    "transition": {"kind": "cut"},
                },
            ],
        },
        OPTS,
    )


def test_narration_stretches_scenes_and_times_captions(tmp_path: Path) -> None:
    tl = narrated()
    adjusted, mix = synthesize_narration(tl, tmp_path)
    assert adjusted.scenes[2].duration_s > tl.scenes[2].duration_s  # stretched to fit the speech
    assert adjusted.scenes[1].duration_s == tl.scenes[1].duration_s
    caps = [layer for layer in adjusted.scenes[0].layers if layer.type == "caption"]
    assert [c.text for c in caps] == ["Hello there."]
    assert caps[0].start_s == pytest.approx(0.4)
    audio, rate = read_wav(mix)
    assert len(audio) == pytest.approx(adjusted.duration_s * rate, abs=2)
    assert (tmp_path / "scene_0.wav").exists() and (tmp_path / "scene_2.wav").exists()


def test_narration_starts_within_one_frame_of_its_caption(tmp_path: Path) -> None:
    adjusted, mix = synthesize_narration(narrated(), tmp_path)
    audio, rate = read_wav(mix)
    fps = adjusted.canvas.fps
    src = FrameSource(adjusted)
    bounds = adjusted.scene_frames()
    for scene_index in (0, 2):
        lo, hi = bounds[scene_index], bounds[scene_index + 1]
        spoken = np.flatnonzero(np.abs(audio[int(lo / fps * rate) : int(hi / fps * rate)]) > 0.01)
        onset_s = lo / fps + spoken[0] / rate
        shown = next(k for k in range(lo, hi) if src.frame(k).y.max() > 20)
        assert abs(shown / fps - onset_s) <= 1 / fps, (scene_index, shown / fps, onset_s)


def test_joined_video_with_narration_decodes_cleanly(tmp_path: Path) -> None:
    adjusted, mix = synthesize_narration(narrated(music="procedural"), tmp_path)
    paths = []
    for k, (a, b) in enumerate(chunk_ranges(adjusted.total_frames, adjusted.canvas.fps, 2.0)):
        paths.append(tmp_path / f"c{k}.mp4")
        render_video(adjusted, paths[-1], start_frame=a, end_frame=b)
    info = join_chunks(paths, tmp_path / "final.mp4", audio_path=mix)
    assert info.frames == adjusted.total_frames
    with av.open(str(tmp_path / "final.mp4")) as c:
        assert {s.type for s in c.streams} == {"video", "audio"}
        assert c.streams.audio[0].codec_context.name == "aac"
        frames = samples = 0
        for frame in c.decode(video=0, audio=0):
            if isinstance(frame, av.VideoFrame):
                frames += 1
            else:
                samples += frame.samples
        assert frames == adjusted.total_frames
        assert samples / 48000 == pytest.approx(adjusted.duration_s, abs=0.05)


def test_missing_espeak_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TaskFailed, match="espeak-ng") as caught:
        synthesize_narration(narrated(), tmp_path)
    assert caught.value.code == "voiceover_unavailable"


def test_music_is_deterministic_and_not_silent(tmp_path: Path) -> None:
    tl = narrated(music="procedural")
    render_music(tl, tmp_path / "a.wav")
    render_music(tl, tmp_path / "b.wav")
    a, rate = read_wav(tmp_path / "a.wav")
    b, _ = read_wav(tmp_path / "b.wav")
    np.testing.assert_array_equal(a, b)
    assert len(a) == pytest.approx(tl.duration_s * rate, abs=2)
    assert np.sqrt(np.mean(a**2)) > 0.01
    assert render_music(narrated(music="none"), tmp_path / "c.wav") is None


def test_caption_segments_are_short() -> None:
    text = "One two three four five six seven eight nine ten eleven twelve. Short end."
    segs = caption_segments(text)
    assert all(len(s.split()) <= 11 for s in segs)
    assert " ".join(segs).split() == text.split()
