"""The decoding probe for uploads (the MediaProbe port): Pillow for images, PyAV for audio."""

from __future__ import annotations

from pathlib import Path

from framecast.render.drawing.images import verified_size
from framecast.render.encoding.encode import probe_audio


class DecodingProbe:
    """Proves an upload decodes: ``image_size`` verifies the image structure, ``audio_duration`` decodes
    every audio frame.

    >>> DecodingProbe().audio_duration(Path("voice.wav"))      # doctest: +SKIP
    1.0
    """

    def image_size(self, path: Path) -> tuple[int, int]:
        return verified_size(path)

    def audio_duration(self, path: Path) -> float:
        return probe_audio(path)
