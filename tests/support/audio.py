"""Real audio files for upload tests: WAV from the ``wave`` module, MP3/FLAC/M4A/Ogg encoded by PyAV."""

from __future__ import annotations

import io
import wave

import av
import numpy as np

# format name for av.open, codec, sample rate
_FORMATS = {
    "mp3": ("mp3", "libmp3lame", 44100),
    "flac": ("flac", "flac", 44100),
    "m4a": ("ipod", "aac", 44100),
    "ogg": ("ogg", "libopus", 48000),
}


def wav_file(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV holding a 440 Hz tone."""
    t = np.arange(int(rate * seconds)) / rate
    pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def encoded_audio(ext: str, seconds: float = 0.5) -> bytes:
    """A mono 440 Hz tone encoded as ``ext`` (``mp3``, ``flac``, ``m4a`` or ``ogg``)."""
    container_format, codec, rate = _FORMATS[ext]
    t = np.arange(int(rate * seconds)) / rate
    pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()
