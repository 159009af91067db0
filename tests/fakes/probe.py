"""A decoding probe without Pillow or PyAV: PNG headers and WAV files (the stdlib's ``wave``), which is
all a unit test needs to upload; anything else is refused like a file that does not decode."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

from framecast.domain.errors import InvalidInput

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class FakeMediaProbe:
    """``image_size`` reads a PNG's IHDR; ``audio_duration`` reads a WAV's frame count. ``probed`` lists
    the paths looked at.

    >>> FakeMediaProbe().image_size(Path("/nonexistent.png"))      # doctest: +SKIP
    Traceback (most recent call last):
    framecast.domain.errors.InvalidInput: ...
    """

    def __init__(self) -> None:
        self.probed: list[Path] = []

    def image_size(self, path: Path) -> tuple[int, int]:
        self.probed.append(path)
        head = path.read_bytes()[:24]
        if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
            raise InvalidInput(f"{path.name} is not a readable image: not a PNG", field="file")
        width, height = struct.unpack(">II", head[16:24])
        if width == 0 or height == 0:
            raise InvalidInput(f"{path.name} is not a readable image: empty", field="file")
        return int(width), int(height)

    def audio_duration(self, path: Path) -> float:
        self.probed.append(path)
        try:
            with wave.open(str(path), "rb") as wav:
                frames, rate = wav.getnframes(), wav.getframerate()
        except (wave.Error, EOFError, RuntimeError, OSError, ValueError) as exc:  # wave's ways of failing
            raise InvalidInput(f"cannot decode audio file {path.name}: {exc}") from exc
        if frames == 0 or rate == 0:
            raise InvalidInput(f"{path.name} holds no audio samples")
        return frames / rate
