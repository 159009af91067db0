"""Narration with espeak-ng, captions timed to it, and the mixed audio track (music ducked under speech).

``synthesize_narration`` speaks each scene's narration caption by caption (one espeak-ng call per
caption, concatenated into one WAV per scene), so every caption starts on the exact sample its words
start; scenes are stretched to fit their speech. The mix streams block by block to a 48 kHz mono WAV.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from framecast.domain.errors import InvalidInput, TaskFailed
from framecast.domain.timeline import CaptionLayer, Timeline, invalid_from
from framecast.render.assets import AssetPath
from framecast.render.drawing.color import F32
from framecast.render.encoding.encode import decode_audio
from framecast.render.music import RATE, music_blocks

log = logging.getLogger(__name__)

CAPTION_WORDS = 9  # at most this many words on screen at once
GAP_S = 0.12  # pause between caption segments
TAIL_S = 0.6  # silence kept after a scene's speech before the next scene
_SILENCE = 0.01


def espeak_binary() -> str:
    """Path of espeak-ng (or espeak); raises :class:`TaskFailed` when neither is installed (a missing
    program does not come back by waiting, unlike an outage, so the project fails with a clear reason)."""
    found = shutil.which("espeak-ng") or shutil.which("espeak")
    if not found:
        raise TaskFailed(
            "voiceover needs espeak-ng, which is not installed on this worker "
            "(Debian/Ubuntu: apt-get install espeak-ng); turn voiceover off or install it",
            code="voiceover_unavailable",
        )
    return found


def caption_segments(text: str, max_words: int = CAPTION_WORDS) -> list[str]:
    """Split narration into on-screen caption chunks at punctuation, at most ``max_words`` words each."""
    pieces = [p.strip() for p in re.split(r"(?<=[.!?;:,])\s+", " ".join(text.split())) if p.strip()]
    out: list[str] = []
    for piece in pieces:
        ws = piece.split()
        while len(ws) > max_words:
            cut = max_words if len(ws) - max_words >= 3 else len(ws) - 3
            out.append(" ".join(ws[:cut]))
            ws = ws[cut:]
        if out and len(ws) <= 2 and len(out[-1].split()) + len(ws) <= max_words + 2:
            out[-1] += " " + " ".join(ws)
        elif ws:
            out.append(" ".join(ws))
    return out


def speak(text: str, voice: str, wpm: int, wav_path: Path) -> F32:
    """Speak ``text`` to ``wav_path`` with espeak-ng; return the speech at 48 kHz, silence trimmed."""
    binary = espeak_binary()
    try:
        subprocess.run(
            [binary, "-v", voice, "-s", str(wpm), "-w", str(wav_path), "--stdin"],
            input=text.encode(),
            check=True,
            capture_output=True,
            timeout=120,
        )
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode(errors="replace").strip()
        if "voice" in message.lower():
            raise InvalidInput(
                f"espeak-ng does not know voice {voice!r}: {message}", field="audio.voice"
            ) from exc
        raise TaskFailed(f"espeak-ng failed: {message or exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise TaskFailed("espeak-ng took too long") from exc
    samples = decode_audio(wav_path, RATE)
    loud = np.flatnonzero(np.abs(samples) > _SILENCE)
    if len(loud) == 0:
        return np.zeros(0, np.float32)
    return samples[loud[0] : loud[-1] + 1]


def synthesize_narration(
    timeline: Timeline, out_dir: Path, *, asset_path: AssetPath | None = None
) -> tuple[Timeline, Path]:
    """Speak every scene's narration; return the adjusted timeline and the mixed track (WAV).

    Writes ``scene_<i>.wav`` per narrated scene and ``mix.wav`` into ``out_dir``. In the returned timeline
    narrated scenes last at least as long as their speech, their caption layers are replaced by captions
    timed to the words, and the music (if any) is ducked under the speech in ``mix.wav``. Render the video
    from the returned timeline. ``asset_path`` resolves uploaded music. Raises :class:`TaskFailed` if
    espeak-ng is missing.
    """
    espeak_binary()
    out_dir.mkdir(parents=True, exist_ok=True)
    fps = timeline.canvas.fps
    scenes: list[dict[str, Any]] = []
    speech: list[tuple[int, int, F32]] = []  # (scene index, offset in scene samples, samples)
    for i, scene in enumerate(timeline.scenes):
        data = scene.model_dump(mode="json")
        text = (scene.narration or "").strip()
        if not text:
            scenes.append(data)
            continue
        on_screen = {layer.text.strip() for layer in scene.layers if layer.type == "text"}
        old_caption = next((layer for layer in scene.layers if isinstance(layer, CaptionLayer)), None)
        start_s = round(scene.narration_start_s * fps) / fps  # on a frame, so captions and words align
        pos = 0
        captions: list[dict[str, Any]] = []
        parts: list[F32] = []
        for k, segment in enumerate(caption_segments(text)):
            samples = speak(
                segment, timeline.audio.voice, timeline.audio.speed_wpm, out_dir / f"s{i}_{k}.wav"
            )
            if len(samples) == 0:
                continue
            seg_start = start_s + pos / RATE
            seg_end = seg_start + len(samples) / RATE
            if text not in on_screen:  # a title card already shows its words
                look: dict[str, Any] = {}
                if old_caption is not None:
                    look = {"size": old_caption.size, "color": old_caption.color, "box": old_caption.box}
                end = seg_end + GAP_S * 0.8
                captions.append(CaptionLayer(text=segment, start_s=seg_start, end_s=end, **look).model_dump())
            parts.append(samples)
            gap = np.zeros(int(GAP_S * RATE), np.float32)
            parts.append(gap)
            pos += len(samples) + len(gap)
        scene_speech = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        _write_wav(out_dir / f"scene_{i}.wav", scene_speech)
        speech.append((i, int(round(start_s * RATE)), scene_speech))
        needed = start_s + len(scene_speech) / RATE + TAIL_S
        data["duration_s"] = max(scene.duration_s, needed)
        data["layers"] = [layer for layer in data["layers"] if layer["type"] != "caption"] + captions
        scenes.append(data)
    try:
        adjusted = Timeline.model_validate({**timeline.model_dump(mode="json"), "scenes": scenes})
    except ValidationError as exc:
        raise invalid_from(exc) from None
    bounds = adjusted.scene_frames()
    placed = [(int(round(bounds[i] / fps * RATE)) + off, s) for i, off, s in speech]
    mix = out_dir / "mix.wav"
    _mix_to_wav(adjusted, placed, mix, asset_path)
    return adjusted, mix


def render_music(timeline: Timeline, out_path: Path, *, asset_path: AssetPath | None = None) -> Path | None:
    """Write the background music alone (no voiceover) as a WAV; None when the timeline has no music."""
    if timeline.audio.music == "none":
        return None
    _mix_to_wav(timeline, [], out_path, asset_path)
    return out_path


def _open_wav(path: Path) -> wave.Wave_write:
    """A 16-bit mono WAV at :data:`RATE` for writing."""
    w = wave.open(str(path), "wb")
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(RATE)
    return w


def _pcm16(samples: F32) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def _write_wav(path: Path, samples: F32) -> None:
    with _open_wav(path) as w:
        w.writeframes(_pcm16(samples))


def _music_source(timeline: Timeline, total: int, asset_path: AssetPath | None) -> Iterator[F32] | None:
    audio = timeline.audio
    if audio.music == "none":
        return None
    if audio.music == "upload":
        if asset_path is None or audio.music_asset_id is None:
            raise InvalidInput("the timeline uses uploaded music but no asset store was given", field="audio")
        track = decode_audio(asset_path(audio.music_asset_id), RATE)
        if len(track) == 0:
            raise InvalidInput("the uploaded music has no sound", field="audio.music_asset_id")
        return _loop_blocks(track, total)
    return music_blocks(timeline.seed, timeline.style, total)


def _loop_blocks(track: F32, total: int) -> Iterator[F32]:
    pos = 0
    block = RATE
    while pos < total:
        n = min(block, total - pos)
        idx = (np.arange(pos, pos + n)) % len(track)
        env = np.clip((total - np.arange(pos, pos + n)) / (2 * RATE), 0, 1)
        yield (track[idx] * env).astype(np.float32)
        pos += n


def _mix_to_wav(
    timeline: Timeline, speech: list[tuple[int, F32]], path: Path, asset_path: AssetPath | None
) -> None:
    total = int(round(timeline.duration_s * RATE))
    volume = timeline.audio.music_volume
    source = _music_source(timeline, total, asset_path)
    intervals = [(start, start + len(s)) for start, s in speech]
    attack, release = int(0.12 * RATE), int(0.45 * RATE)
    with _open_wav(path) as w:
        pos = 0
        blocks = source
        while pos < total:
            if blocks is not None:
                try:
                    block = next(blocks)
                except StopIteration:
                    blocks = None
                    continue
            else:
                block = np.zeros(min(RATE, total - pos), np.float32)
            n = len(block)
            t = np.arange(pos, pos + n)
            duck = np.zeros(n, np.float32)
            for a, b in intervals:
                if b + release < pos or a - attack > pos + n:
                    continue
                ramp = np.minimum(
                    np.clip((t - (a - attack)) / attack, 0, 1), np.clip(((b + release) - t) / release, 0, 1)
                )
                duck = np.maximum(duck, ramp.astype(np.float32))
            out = block * volume * (1 - 0.78 * duck)
            for start, s in speech:
                lo, hi = max(pos, start), min(pos + n, start + len(s))
                if lo < hi:
                    out[lo - pos : hi - pos] += s[lo - start : hi - start] * 0.95
            w.writeframes(_pcm16(out))
            pos += n
