"""The decoding probe behind uploads: real audio decodes to its length; a file that only starts like audio
(garbage after the magic bytes, a bare header, a broken tail) does not."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tests.support.audio import encoded_audio, wav_file
from tests.support.images import png_bytes

from framecast.domain.errors import InvalidInput
from framecast.render.encoding.probe import DecodingProbe

probe = DecodingProbe()


def garbage(n: int) -> bytes:
    return random.Random(n).randbytes(n)  # seeded: the same bytes on every run


def _file(tmp_path: Path, data: bytes, name: str = "upload") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("ext", ["mp3", "flac", "m4a", "ogg"])
def test_encoded_audio_decodes_to_its_length(tmp_path: Path, ext: str) -> None:
    seconds = probe.audio_duration(_file(tmp_path, encoded_audio(ext, seconds=0.5)))
    assert 0.45 < seconds < 0.6  # encoders pad a little (AAC priming, Opus pre-skip)


def test_wav_decodes_to_its_length(tmp_path: Path) -> None:
    assert probe.audio_duration(_file(tmp_path, wav_file(seconds=0.5))) == pytest.approx(0.5)


@pytest.mark.parametrize("ext", ["wav", "mp3", "flac", "m4a", "ogg"])
def test_garbage_after_the_magic_bytes_does_not_decode(tmp_path: Path, ext: str) -> None:
    real = wav_file() if ext == "wav" else encoded_audio(ext)
    with pytest.raises(InvalidInput):
        probe.audio_duration(_file(tmp_path, real[:16] + garbage(20_000)))


def test_a_header_without_samples_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no audio samples"):
        probe.audio_duration(_file(tmp_path, wav_file()[:44]))


def test_valid_audio_followed_by_garbage_is_refused(tmp_path: Path) -> None:
    mp3 = encoded_audio("mp3")
    with pytest.raises(InvalidInput):
        probe.audio_duration(_file(tmp_path, mp3[: len(mp3) // 2] + garbage(5_000)))


def test_an_image_is_not_audio(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        probe.audio_duration(_file(tmp_path, png_bytes()))


def test_image_size_and_a_truncated_image(tmp_path: Path) -> None:
    png = png_bytes((40, 20))
    assert probe.image_size(_file(tmp_path, png, "a.png")) == (40, 20)
    with pytest.raises(InvalidInput):
        probe.image_size(_file(tmp_path, png[:40], "b.png"))
