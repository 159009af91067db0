"""Procedural background music: a seeded chord progression with pads, bass and (by style) arpeggio and beat.

Music is produced bar by bar as a pure function of the bar index, so a 10-minute track streams to disk
in small blocks (memory stays flat) and the same timeline always gives the same samples.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from framecast.render.drawing.color import F32

RATE = 48000
_PROGRESSIONS = (
    (0, 8, 3, 10),  # i VI III VII (minor)
    (0, 7, 9, 5),  # I V vi IV
    (9, 5, 0, 7),  # vi IV I V
    (0, 5, 8, 7),  # i iv VI V
    (0, 3, 5, 3),
)
_MINOR = {3, 8, 10}
_TEMPO = {"cinematic": 68, "minimal": 92, "neon": 118, "retro": 104, "documentary": 74}


@dataclass(frozen=True)
class Song:
    """The seeded choices: key, tempo, progression and which voices play."""

    root_hz: float
    bpm: float
    progression: tuple[int, ...]
    arp: bool
    beat: bool

    @property
    def bar_samples(self) -> int:
        return int(round(4 * 60 / self.bpm * RATE))


def song_for(seed: int, style: str | None) -> Song:
    rng = random.Random(seed ^ 0x5EED)
    root = 110.0 * 2 ** (rng.randrange(0, 7) / 12)
    bpm = _TEMPO.get(style or "", 84) * rng.uniform(0.94, 1.06)
    return Song(
        root_hz=root,
        bpm=bpm,
        progression=rng.choice(_PROGRESSIONS),
        arp=style in ("neon", "retro", "minimal") or rng.random() < 0.3,
        beat=style in ("neon", "retro"),
    )


def _tone(freq: float, n: int, harmonics: tuple[float, ...], detune: float = 0.0) -> F32:
    t = np.arange(n, dtype=np.float32) / RATE
    out = np.zeros(n, np.float32)
    for k, amp in enumerate(harmonics, start=1):
        for d in (-detune, detune) if detune else (0.0,):
            out += amp * np.sin(2 * math.pi * freq * k * (1 + d) * t, dtype=np.float32)
    return out


@functools.lru_cache(maxsize=16)
def _pad_and_bass(chord: tuple[float, ...], n: int) -> F32:
    """The held pad (slow attack, released in the tail) and the bass on beats 1 and 3, for one chord.

    Cached: most of a bar's sines are here, and a song repeats its few chords for its whole length.
    """
    out = np.zeros(2 * n, np.float32)
    t = np.arange(2 * n, dtype=np.float32) / RATE
    bar_s = n / RATE
    env = np.clip(t / 0.6, 0, 1) * np.clip(1 - (t - bar_s) / 0.8, 0, 1)
    for f in chord:
        out += 0.09 * env * _tone(f, 2 * n, (1.0, 0.35, 0.12), detune=0.003)
    beat = n // 4
    for b in (0, 2):
        start = b * beat
        length = min(2 * beat, 2 * n - start)
        tt = np.arange(length, dtype=np.float32) / RATE
        out[start : start + length] += 0.16 * np.exp(-tt * 2.2) * _tone(chord[0] / 2, length, (1.0, 0.5, 0.2))
    out.setflags(write=False)
    return out


def _bar(song: Song, index: int) -> F32:
    """One bar plus a one-bar tail (for releases), as float32 mono."""
    n = song.bar_samples
    out = np.zeros(2 * n, np.float32)
    step = song.progression[index % len(song.progression)]
    minor = step in _MINOR or step == 0 and song.progression[0] == 0 and song.progression[1] in (8, 5)
    third = 3 if minor else 4
    chord = [song.root_hz * 2 ** ((step + s) / 12) for s in (0, third, 7, 12)]
    # Pad and bass depend only on the chord: a progression has a few, so they are made once each.
    out += _pad_and_bass(tuple(chord), n)
    beat = n // 4
    if song.arp:
        eighth = n // 8
        for k in range(8):
            f = chord[(k * 2 + index) % 4] * 2
            start = k * eighth
            length = min(eighth * 3, 2 * n - start)
            tt = np.arange(length, dtype=np.float32) / RATE
            out[start : start + length] += 0.05 * np.exp(-tt * 7) * _tone(f, length, (1.0, 0.2))
    if song.beat:
        rng = np.random.default_rng(index)
        for b in range(4):
            start = b * beat
            length = min(beat, 2 * n - start)
            tt = np.arange(length, dtype=np.float32) / RATE
            sweep = 2 * math.pi * (45 * tt + 60 * (1 - np.exp(-tt * 30)) / 30)
            out[start : start + length] += 0.22 * np.exp(-tt * 9) * np.sin(sweep).astype(np.float32)
            hat = start + beat // 2
            hl = min(beat // 4, 2 * n - hat)
            if hl > 0:
                ht = np.arange(hl, dtype=np.float32) / RATE
                noise = rng.standard_normal(hl).astype(np.float32)
                out[hat : hat + hl] += 0.025 * np.exp(-ht * 60) * np.diff(noise, prepend=0)
    return out


def music_blocks(seed: int, style: str | None, total_samples: int) -> Iterator[F32]:
    """The track in bar-sized blocks, faded in over 1 s and out over 2 s, ``total_samples`` long in all."""
    song = song_for(seed, style)
    n = song.bar_samples
    carry = np.zeros(n, np.float32)
    pos = 0
    index = 0
    fade_in, fade_out = RATE, 2 * RATE
    while pos < total_samples:
        bar = _bar(song, index)
        block = bar[:n] + carry
        carry = bar[n:]
        block = block[: total_samples - pos]
        t = np.arange(pos, pos + len(block), dtype=np.float32)
        env = np.minimum(np.clip(t / fade_in, 0, 1), np.clip((total_samples - t) / fade_out, 0, 1))
        yield (np.tanh(block * 1.4) / 1.4 * env).astype(np.float32)
        pos += len(block)
        index += 1
