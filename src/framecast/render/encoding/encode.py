"""The only PyAV code: the H.264 writer, the chunk join (remux, no re-encode), audio in and out, probing.

Encoder settings and why:

* ``libx264`` preset ``veryfast``: the fastest preset that keeps hexagon motion search, sub-pixel
  refinement and inter partitions (``superfast`` drops to diamond search, subme 1 and intra-only
  partitions; ``ultrafast`` also drops B-frames and the 8x8 transform), so at a fixed QP the files stay
  small. Slower presets mostly buy a wider motion search, which smooth synthetic pictures with little
  detail barely use; the bytes saved are not worth the encode time the renderer is built around.
* Constant QP (``qp=20``): chunked and single renders must decode to identical frames. CRF carries
  rate-control state across GOPs (and mb-tree looks ahead past a GOP), so a chunk encoder that starts
  fresh would quantise differently; with constant QP, fixed ``keyint`` equal to ``min-keyint``, no
  scene-cut keyframes and closed GOPs, each GOP depends only on its own frames.
* One x264 thread per render (``threads=1``): the parallelism comes from the worker pool, one process
  per core, each rendering a GOP-aligned chunk. x264's own frame threading keeps only about 1.5 of 2 cores
  busy and spends CPU on synchronisation; two single-threaded encoders fill both cores (bench/render.py:
  five chunks on two processes finish faster than x264 alone with its default threads). A fixed count
  also keeps output deterministic: x264 is deterministic for a given thread count, not across counts,
  and chunks may be rendered on machines with different core counts.
* BT.709 limited range, written into the stream's VUI so players do not guess.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from framecast.domain.errors import InvalidInput, TaskFailed
from framecast.render.drawing.planes import Planes
from framecast.render.encoding.chunks import gop_frames
from framecast.render.encoding.info import VideoInfo

log = logging.getLogger(__name__)

PRESET = "veryfast"
QP = 20
THREADS = 1
AUDIO_RATE = 48000
AUDIO_BITRATE = 128_000
# FFmpeg's AAC encoder: the "fast" coder is, per FFmpeg's documentation, "better and much faster at higher
# bitrates" than the default two-loop search; at 128 kb/s mono it encodes a minute of audio in 0.55-0.7 s
# of CPU instead of 1.0 s (160 kb/s, two-loop) and comes closer to the source (SNR 61 dB against 53).
_AAC_OPTIONS = {"aac_coder": "fast"}
_FASTSTART = {"movflags": "+faststart"}


def x264_options(fps: int, threads: int = THREADS) -> dict[str, str]:
    """The libx264 options every render uses (chunk or whole file); see the module docstring.

    ``threads=0`` is x264's own choice (1.5 threads per core): the benchmark's "x264 alone" reference.
    """
    gop = gop_frames(fps)
    params = (
        f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:threads={threads}"
        ":colorprim=bt709:transfer=bt709:colormatrix=bt709"
    )
    return {"preset": PRESET, "qp": str(QP), "x264-params": params}


_IN_FLIGHT = 16  # 720p: 22 MB, 1080p: 50 MB


class _Slot:
    """A reusable yuv420p frame: numpy planes a renderer draws into, and the PyAV frame x264 reads.

    Where PyAV can lay its frame over the same memory (``from_numpy_buffer``), a drawn picture goes to
    x264 without a copy. It maps the planes wrongly for some sizes (chroma of an odd number of rows, as in
    480x854), so the mapping is checked, and otherwise the planes are copied into a frame of its own.
    """

    __slots__ = ("frame", "planes", "_views")

    def __init__(self, width: int, height: int) -> None:
        self.planes = Planes(width, height)
        self._views: tuple[npt.NDArray[np.uint8], ...] | None = None
        frame = av.VideoFrame.from_numpy_buffer(self.planes.buf, format="yuv420p")
        expected = [(p.ctypes.data, p.shape[1]) for p in self.planes.yuv]
        if [(p.buffer_ptr, p.line_size) for p in frame.planes] != expected:
            frame = av.VideoFrame(width, height, "yuv420p")
            self._views = tuple(
                np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: p.shape[0], : p.shape[1]]  # type: ignore[call-overload]
                for plane, p in zip(frame.planes, self.planes.yuv, strict=True)
            )
        self.frame = frame

    def ready(self) -> None:
        """Make ``frame`` show what was drawn into ``planes``."""
        if self._views is not None:
            for view, plane in zip(self._views, self.planes.yuv, strict=True):
                np.copyto(view, plane)


class _FreeFrames:
    """The frames the encoder is done with. A drawer that finds none sleeps until three quarters of the
    set are free, then draws those in one go, while x264 still has the last quarter queued: drawing a
    frame takes a fraction of encoding one, and waking once per frame (with caches cooled by x264 in
    between) cost more than the drawing itself. Measured side by side on a 60 s 720p video, the drawing
    thread's CPU: 2.3 s waking per frame, 1.9 s at half of 8 frames, 1.5-1.7 s at three quarters of 16.
    """

    def __init__(self, slots: list[_Slot]) -> None:
        self._items = collections.deque(slots)
        self._wake_at = max(1, len(slots) * 3 // 4)
        self._cond = threading.Condition()
        self._failed = False

    def put(self, slot: _Slot) -> None:
        with self._cond:
            self._items.append(slot)
            if len(self._items) >= self._wake_at:
                self._cond.notify()

    def fail(self) -> None:
        """The encoder stopped: wake the drawer whatever is free."""
        with self._cond:
            self._failed = True
            self._cond.notify_all()

    def get(self) -> _Slot | None:
        """A free frame, or None once the encoder has failed and none is left."""
        with self._cond:
            if not self._items:
                self._cond.wait_for(lambda: len(self._items) >= self._wake_at or self._failed)
            return self._items.popleft() if self._items else None


class VideoWriter:
    """Encode yuv420p frames to an H.264 MP4 on a background thread (synthesis of the next frame overlaps).

    >>> # with VideoWriter(path, 640, 360, 30) as w: w.write(planes)   # planes: (h * 3 // 2, w) uint8
    """

    def __init__(self, path: Path, width: int, height: int, fps: int, *, threads: int = THREADS) -> None:
        self.path = path
        self.width, self.height, self.fps = width, height, fps
        self.frames = 0
        self._container = av.open(str(path), "w", format="mp4", options=_FASTSTART)
        stream = self._container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {**x264_options(fps, threads)}
        self._stream = stream
        # A fixed set of frames cycles between this thread and the encoder thread: memory stays bounded
        # (frames stream through) while synthesis runs a few frames ahead, and no frame buffer is allocated
        # (and page-faulted in) per frame. x264 copies each picture when it is handed over, so a frame is
        # free again as soon as ``encode`` returns.
        slots = [_Slot(width, height) for _ in range(_IN_FLIGHT)]
        self._slot_of = {id(slot.planes): slot for slot in slots}
        self._free = _FreeFrames(slots)
        self._queue: queue.Queue[_Slot | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="x264-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        slot: _Slot | None = None
        try:
            while True:
                slot = self._queue.get()
                for packet in self._stream.encode(None if slot is None else slot.frame):
                    self._container.mux(packet)
                if slot is None:
                    return
                self._free.put(slot)
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc
            # Wake a writer blocked on a free frame: it sees the error and stops.
            self._free.fail()
            if slot is None:
                return  # the flush itself failed: nothing more will be queued
            self._free.put(slot)
            while (slot := self._queue.get()) is not None:
                self._free.put(slot)

    def acquire(self) -> Planes:
        """A free frame to draw the next picture into (waits while the encoder is behind); hand it to
        :meth:`submit`. Drawing straight into the encoder's memory saves a full-frame copy per frame,
        which on a busy machine costs as much as drawing the frame.

        >>> # planes = writer.acquire(); source.frame(i, out=planes); writer.submit(planes)
        """
        slot = self._free.get()
        if self._error is not None or slot is None:
            raise TaskFailed(f"video encoder failed: {self._error}")
        return slot.planes

    def submit(self, planes: Planes) -> None:
        """Queue a frame from :meth:`acquire` for encoding, as the next frame of the video."""
        slot = self._slot_of[id(planes)]
        slot.ready()
        slot.frame.pts = self.frames
        self.frames += 1
        self._queue.put(slot)

    def write(self, planes: npt.NDArray[np.uint8]) -> None:
        """Queue one frame; ``planes`` is Y then U then V, shape ``(h * 3 // 2, w)`` (copied)."""
        frame = self.acquire()
        np.copyto(frame.buf, planes.reshape(frame.buf.shape))
        self.submit(frame)

    def close(self) -> None:
        """Flush the encoder and finish the file (moves the index to the front: faststart)."""
        self._queue.put(None)
        self._thread.join()
        self._container.close()
        if self._error is not None:
            raise TaskFailed(f"video encoder failed: {self._error}")

    def abort(self) -> None:
        """Stop without caring about the file (cancel); the caller deletes it."""
        try:
            self.close()
        except Exception:  # the file is being thrown away
            log.debug("encoder abort", exc_info=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def yuv420p_to_rgb(planes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A yuv420p frame ``(h * 3 // 2, w)`` (BT.709, limited range, as rendered) as RGB ``(h, w, 3)``.

    Pass a frame's ``Planes.buf``. swscale does it in about a millisecond at 720p, a fiftieth of the numpy
    formula ``color.yuv_to_rgb`` (the reference, for tests); posters and thumbnails use this.
    """
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    rgb = frame.reformat(
        format="rgb24",
        src_colorspace="ITU709",
        dst_colorspace="ITU709",
        src_color_range="MPEG",
        dst_color_range="JPEG",
        interpolation="BICUBIC",
        threads=1,
    )
    out: npt.NDArray[np.uint8] = np.asarray(rgb.to_ndarray(), dtype=np.uint8)
    return out


def probe(path: Path) -> VideoInfo:
    """Size, rate, frame count and duration of an MP4's first video stream (frames counted from packets)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = int(round(float(stream.average_rate or stream.guessed_rate or 30)))
        frames = sum(1 for p in container.demux(stream) if p.size)
        return VideoInfo(stream.width, stream.height, fps, frames, frames / fps if fps else 0.0)


def decode_frames(path: Path) -> Iterator[npt.NDArray[np.uint8]]:
    """Decoded frames of a video as yuv420p arrays ``(h * 3 // 2, w)`` (tests, thumbnails)."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield np.asarray(frame.to_ndarray(format="yuv420p"), dtype=np.uint8)


def decode_audio(path: Path, rate: int = AUDIO_RATE) -> npt.NDArray[np.float32]:
    """Any audio file PyAV reads, as mono float32 at ``rate`` (uploaded music, narration WAVs)."""
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise InvalidInput(f"cannot read audio file {path.name}: {exc}") from exc
    with container:
        if not container.streams.audio:
            raise InvalidInput(f"{path.name} has no audio stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts: list[npt.NDArray[np.float32]] = []
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1).astype(np.float32))
        for out in resampler.resample(None):
            parts.append(out.to_ndarray().reshape(-1).astype(np.float32))
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def probe_audio(path: Path) -> float:
    """Seconds of audio in ``path``, every frame decoded: a file that only starts like a WAV or an MP3, or
    that breaks off or turns to garbage part way, raises InvalidInput (uploads are checked with this)."""
    samples, rate = 0, 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise InvalidInput(f"{path.name} has no audio stream")
            for frame in container.decode(audio=0):
                samples += frame.samples
                rate = frame.sample_rate or rate
    except av.FFmpegError as exc:
        raise InvalidInput(f"cannot decode audio file {path.name}: {exc}") from exc
    if samples == 0 or rate == 0:
        raise InvalidInput(f"{path.name} holds no audio samples")
    return samples / rate


_NO_DECODE = {"skip_frame": "all"}


def join_chunks(chunk_paths: list[Path], out_path: Path, *, audio_path: Path | None = None) -> VideoInfo:
    """Concatenate chunk MP4s into one faststart MP4 without re-encoding, muxing AAC audio if given.

    Video packets are copied and their timestamps shifted by the frames before them; the audio (any file
    PyAV reads, usually the narration mix WAV) is encoded to AAC in the same pass, cut or padded with
    silence to the video's length, and interleaved chunk by chunk so nothing holds the whole file.
    """
    if not chunk_paths:
        raise TaskFailed("nothing to join: no chunk files")
    out = av.open(str(out_path), "w", format="mp4", options=_FASTSTART)
    try:
        first = av.open(str(chunk_paths[0]))
        template = first.streams.video[0]
        width, height = template.width, template.height
        fps = int(round(float(template.average_rate or template.guessed_rate or 30)))
        vstream = out.add_stream_from_template(template)
        first.close()
        audio = _open_audio(out, audio_path) if audio_path is not None else None
        frames = 0
        for path in chunk_paths:
            # Only packets are copied, so the decoder that probing opens to learn the stream's pixel format
            # decodes nothing (the first chunk, opened above, gave the output its parameters): about 2 ms
            # less per chunk, most of the join's time. (PyAV's stubs type stream_options as list[str].)
            with av.open(str(path), stream_options=[_NO_DECODE]) as chunk:  # type: ignore[list-item]
                src = chunk.streams.video[0]
                if (src.width, src.height) != (width, height):
                    raise TaskFailed(f"chunk {path.name} is {src.width}x{src.height}, not {width}x{height}")
                tb = src.time_base
                assert tb is not None
                offset = int(round(Fraction(frames, fps) / tb))
                count = 0
                for packet in chunk.demux(src):
                    if packet.dts is None or not packet.size:
                        continue  # the demuxer's end-of-stream marker
                    packet.pts = (packet.pts or 0) + offset
                    packet.dts += offset
                    packet.stream = vstream
                    out.mux(packet)
                    count += 1
                frames += count
            if audio is not None:
                audio.feed_until(frames / fps)
        if audio is not None:
            audio.finish(frames / fps)
    except BaseException:
        out.close()
        raise
    out.close()
    return VideoInfo(width, height, fps, frames, frames / fps)


def encode_audio(src: Path, out_path: Path, duration_s: float) -> None:
    """Encode any audio file PyAV reads to an AAC track (``.m4a``), cut or padded to ``duration_s``.

    Done by its own task while the chunks render, so that the join only copies packets.
    """
    out = av.open(str(out_path), "w", format="mp4")
    try:
        _AudioFeed(out, src).finish(duration_s)
    finally:
        out.close()


def _open_audio(out: av.container.OutputContainer, path: Path) -> _AudioFeed | _AudioRemux:
    """AAC that :func:`encode_audio` made is copied as it is; anything else is encoded during the join."""
    try:
        with av.open(str(path)) as probe_src:
            codec = probe_src.streams.audio[0].codec_context.name if probe_src.streams.audio else None
    except av.FFmpegError as exc:
        raise InvalidInput(f"cannot read audio file {path.name}: {exc}") from exc
    if codec == "aac":
        return _AudioRemux(out, path)
    return _AudioFeed(out, path)


class _AudioRemux:
    """Copies the AAC packets of an audio-only file into ``out``, interleaved with the video by time."""

    def __init__(self, out: av.container.OutputContainer, path: Path) -> None:
        self._src = av.open(str(path))
        src = self._src.streams.audio[0]
        self._stream = out.add_stream_from_template(src)
        self._tb = src.time_base
        self._packets = self._src.demux(src)
        self._held: Any = None
        self._out = out

    def feed_until(self, seconds: float) -> None:
        while True:
            packet = self._held if self._held is not None else next(self._packets, None)
            self._held = None
            if packet is None or packet.dts is None or not packet.size:
                return
            assert self._tb is not None
            if packet.pts is not None and float(packet.pts * self._tb) > seconds:
                self._held = packet
                return
            packet.stream = self._stream
            self._out.mux(packet)

    def finish(self, seconds: float) -> None:
        self.feed_until(float("inf"))
        self._src.close()


class _AudioFeed:
    """Streams an audio file into an AAC stream of ``out``, padded with silence to the video's end.

    The source is decoded lazily, a block at a time, so a 10-minute track never sits in memory.
    """

    def __init__(self, out: av.container.OutputContainer, path: Path) -> None:
        try:
            self._src = av.open(str(path))
        except av.FFmpegError as exc:
            raise InvalidInput(f"cannot read audio file {path.name}: {exc}") from exc
        if not self._src.streams.audio:
            self._src.close()
            raise InvalidInput(f"{path.name} has no audio stream")
        self._frames = self._src.decode(audio=0)
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
        self._pending: list[npt.NDArray[np.float32]] = []
        self._pending_n = 0
        self._exhausted = False
        self._stream = out.add_stream("aac", rate=AUDIO_RATE)
        self._stream.bit_rate = AUDIO_BITRATE
        self._stream.options = dict(_AAC_OPTIONS)
        self._stream.layout = "mono"
        self._out = out
        self._pos = 0

    def _take(self, n: int) -> npt.NDArray[np.float32]:
        while self._pending_n < n and not self._exhausted:
            frame = next(self._frames, None)
            outs = self._resampler.resample(frame)
            if frame is None:
                self._exhausted = True
            for o in outs:
                arr = o.to_ndarray().reshape(-1).astype(np.float32)
                self._pending.append(arr)
                self._pending_n += len(arr)
        data = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
        head, tail = data[:n], data[n:]
        self._pending, self._pending_n = ([tail] if len(tail) else []), len(tail)
        if len(head) < n:
            head = np.concatenate([head, np.zeros(n - len(head), np.float32)])
        return head

    def feed_until(self, seconds: float) -> None:
        end = int(round(seconds * AUDIO_RATE))
        step = 1024 * 16
        while self._pos < end:
            stop = min(end, self._pos + step)
            chunk = self._take(stop - self._pos)
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = AUDIO_RATE
            frame.pts = self._pos
            frame.time_base = Fraction(1, AUDIO_RATE)
            for packet in self._stream.encode(frame):
                self._out.mux(packet)
            self._pos = stop

    def finish(self, seconds: float) -> None:
        self.feed_until(seconds)
        for packet in self._stream.encode(None):
            self._out.mux(packet)
        self._src.close()


# -- generated video (engines other than the procedural one) ---------------------------------------------


def rgb_to_yuv420p(rgb: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    """An RGB frame ``(h, w, 3)`` as a BT.709 limited-range yuv420p frame of ``width`` x ``height`` (scaled
    when the sizes differ), in the planar layout the writer takes: ``(height * 3 // 2, width)``."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[..., :3]), format="rgb24")
    yuv = frame.reformat(
        width=width,
        height=height,
        format="yuv420p",
        src_colorspace="ITU709",
        dst_colorspace="ITU709",
        src_color_range="JPEG",
        dst_color_range="MPEG",
        interpolation="BICUBIC",
        threads=1,
    )
    out: npt.NDArray[np.uint8] = np.asarray(yuv.to_ndarray(), dtype=np.uint8)
    return out


def encode_rgb_frames(
    frames: Iterator[npt.NDArray[np.uint8]],
    out_path: Path,
    width: int,
    height: int,
    fps: int,
) -> VideoInfo:
    """Encode RGB frames (an engine's) with the renderer's own H.264 settings into a faststart MP4."""
    with VideoWriter(out_path, width, height, fps) as writer:
        for rgb in frames:
            writer.write(rgb_to_yuv420p(rgb, width, height))
        count = writer.frames
    if count == 0:
        raise TaskFailed("The engine produced no frames.", code="engine_failed")
    return VideoInfo(width, height, fps, count, count / fps)


@dataclass(frozen=True)
class GeneratedVideo:
    """What :func:`normalize_video` made of an engine's file."""

    info: VideoInfo
    #: The source file has an audio stream (compose muxes it from there).
    audio: bool
    #: The video stream was copied (already H.264 yuv420p), not re-encoded.
    remuxed: bool


def normalize_video(src: Path, out_path: Path) -> GeneratedVideo:
    """An engine's video file (a provider's download) as an H.264 yuv420p faststart MP4 without audio.

    An H.264 yuv420p stream is copied packet by packet; anything else (VP9, HEVC, 10-bit, a WebM) is decoded
    and encoded with the renderer's settings. A file PyAV cannot read, or without video, is the engine's
    failure (``engine_bad_output``)."""
    try:
        container = av.open(str(src))
    except av.FFmpegError as exc:
        raise TaskFailed(f"The engine's video cannot be read: {exc}", code="engine_bad_output") from exc
    with container:
        if not container.streams.video:
            raise TaskFailed("The engine's file holds no video.", code="engine_bad_output")
        stream = container.streams.video[0]
        has_audio = bool(container.streams.audio)
        codec = stream.codec_context.name
        pix_fmt = stream.codec_context.pix_fmt
        width, height = stream.width, stream.height
        fps = int(round(float(stream.average_rate or stream.guessed_rate or 24)))
    try:
        if codec == "h264" and pix_fmt == "yuv420p" and width % 2 == 0 and height % 2 == 0:
            info = _remux_video(src, out_path, fps)
            return GeneratedVideo(info, has_audio, remuxed=True)
        even_w, even_h = width // 2 * 2, height // 2 * 2

        def rgb_frames() -> Iterator[npt.NDArray[np.uint8]]:
            with av.open(str(src)) as source:
                for frame in source.decode(video=0):
                    yield np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)

        info = encode_rgb_frames(rgb_frames(), out_path, even_w, even_h, fps)
    except av.FFmpegError as exc:
        raise TaskFailed(f"The engine's video cannot be decoded: {exc}", code="engine_bad_output") from exc
    return GeneratedVideo(info, has_audio, remuxed=False)


def _remux_video(src: Path, out_path: Path, fps: int) -> VideoInfo:
    with av.open(str(src)) as source, av.open(str(out_path), "w", format="mp4", options=_FASTSTART) as out:
        template = source.streams.video[0]
        vstream = out.add_stream_from_template(template)
        frames = 0
        for packet in source.demux(template):
            if packet.dts is None or not packet.size:
                continue
            packet.stream = vstream
            out.mux(packet)
            frames += 1
        width, height = template.width, template.height
    if frames == 0:
        raise TaskFailed("The engine's video has no frames.", code="engine_bad_output")
    return VideoInfo(width, height, fps, frames, frames / fps)


def rgb_frames_at(path: Path, indexes: list[int]) -> list[npt.NDArray[np.uint8]]:
    """The frames of a video at ``indexes`` as RGB arrays (an index past the end: the last frame), decoding
    the file once (posters and spritesheets of a generated video)."""
    wanted = set(indexes)
    found: dict[int, npt.NDArray[np.uint8]] = {}
    last: Any = None
    count = 0
    with av.open(str(path)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            count = n + 1
            last = frame
            if n in wanted:
                found[n] = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            if n >= max(wanted):
                break
        if last is None:
            raise TaskFailed("The generated video has no frames.", code="engine_bad_output")
        final: npt.NDArray[np.uint8] = np.asarray(last.to_ndarray(format="rgb24"), dtype=np.uint8)
    return [found[i] if i in found and i < count else final for i in indexes]
