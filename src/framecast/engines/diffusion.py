"""The local diffusion engine: a text-to-video pipeline in diffusers format, loaded from a directory.

``FRAMECAST_DIFFUSERS_MODEL`` names the directory (``save_pretrained`` output or a downloaded snapshot of,
say, LTX-Video, Wan 2.x or CogVideoX). The pipeline is loaded once per worker process, on the first
generation, with ``local_files_only`` and the hub offline: nothing is downloaded, ever. It runs on CUDA
when torch sees a GPU (``FRAMECAST_DIFFUSERS_DEVICE``), else on the CPU.

Each denoising step is reported as progress and is a point where a cancel stops the run: the step callback
(``callback_on_step_end`` of the current pipelines, the per-step ``callback`` of older ones) raises, so the
run ends within one step. (Not ``pipe._interrupt``: an interrupted pipeline skips the remaining steps but
still decodes its latents with the VAE, which takes longer than the steps on a real model.)

A model makes video at the size it was trained for, not at 1080p: the pipeline generates at the project's
aspect within ``FRAMECAST_DIFFUSERS_MAX_PIXELS`` (default about 832 x 480, what Wan 2.x and LTX-Video make),
and the frames are resized to the project's size. One pipeline runs one video at a time (its scheduler
holds the state of the run): a worker's other threads wait for it.

torch, diffusers and transformers come with the ``diffusers`` extra (``pip install 'framecast[diffusers]'``)
and are imported only here, only when a generation starts: the API process never loads them.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from framecast.domain.errors import Cancelled, TaskFailed
from framecast.domain.options import VideoOptions
from framecast.engines.base import (
    EngineInfo,
    EngineRun,
    Generated,
    GeneratedFrames,
    GenerationRequest,
    check_against_info,
)
from framecast.settings import Settings

log = logging.getLogger(__name__)

#: Width and height are generated at a multiple of this (Wan's and CogVideoX's VAEs scale by 8 and their
#: transformers patch by 2: 16; LTX-Video's VAE scales by 32), then resized to the project's exact size.
SIZE_MULTIPLE = 32

_LOCK = threading.Lock()
#: Pipelines of this process by (directory, device): loaded once and kept.
_PIPELINES: dict[tuple[str, str], tuple[Any, Any]] = {}
#: One run at a time per pipeline (by id of the pipeline object).
_RUN_LOCKS: dict[int, threading.Lock] = {}


class _Stop(Exception):
    """Raised from a legacy per-step callback to stop the pipeline between steps."""


def model_size(width: int, height: int, multiple: int = SIZE_MULTIPLE) -> tuple[int, int]:
    """The size a pipeline generates for a project of ``width`` x ``height``.

    >>> model_size(640, 360)
    (640, 352)
    """
    return max(multiple, width // multiple * multiple), max(multiple, height // multiple * multiple)


def generation_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The size a pipeline generates for a project of ``width`` x ``height``: the same aspect, at most
    ``max_pixels``, in multiples of ``SIZE_MULTIPLE``.

    >>> generation_size(1280, 720, 832 * 480)
    (832, 448)
    >>> generation_size(640, 360, 832 * 480)
    (640, 352)
    """
    scale = min(1.0, (max_pixels / (width * height)) ** 0.5)
    return model_size(round(width * scale), round(height * scale))


def load_pipeline(model_dir: Path, device: str) -> tuple[Any, Any]:
    """(pipeline, torch) for ``model_dir`` on ``device`` ("auto", "cpu", "cuda"): loaded on the first call of
    this process, the same objects after."""
    with _LOCK:
        key = (str(model_dir.resolve()), device)
        if key not in _PIPELINES:
            # Set before diffusers and huggingface_hub are imported: no call to the hub, ever.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
            torch = importlib.import_module("torch")
            diffusers = importlib.import_module("diffusers")
            where = device
            if where == "auto":
                where = "cuda" if torch.cuda.is_available() else "cpu"
            dtype = torch.float16 if where == "cuda" else torch.float32
            began = time.monotonic()
            pipe = diffusers.DiffusionPipeline.from_pretrained(
                str(model_dir), local_files_only=True, dtype=dtype
            )
            pipe = pipe.to(where)
            pipe.set_progress_bar_config(disable=True)
            log.info(
                "loaded %s from %s on %s in %.1fs",
                type(pipe).__name__,
                model_dir,
                where,
                time.monotonic() - began,
            )
            _PIPELINES[key] = (pipe, torch)
            _RUN_LOCKS[id(pipe)] = threading.Lock()
        return _PIPELINES[key]


class DiffusersEngine:
    """Text to video with a local diffusers pipeline (prompt only: no timeline, no voiceover)."""

    def __init__(
        self,
        model_dir: Path,
        *,
        steps: int = 25,
        max_duration_s: float = 5.0,
        device: str = "auto",
        step_delay_s: float = 0.0,
        max_pixels: int = 832 * 480,
        max_frames: int | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.steps = steps
        self.max_pixels = max_pixels
        #: A model's own limit on frames per video (FRAMECAST_DIFFUSERS_MAX_FRAMES); None: the project's.
        self.max_frames = max_frames
        self.device = device
        #: A sleep after every step (FRAMECAST_DEBUG_FRAME_DELAY_MS; tests act mid-steps with it).
        self.step_delay_s = step_delay_s
        self._info = EngineInfo(
            name="diffusers",
            label="Local diffusion",
            description=f"A text-to-video model on this server ({model_dir.name}); prompt only, no sound.",
            min_duration_s=1,
            max_duration_s=max_duration_s,
            resolutions=("360p", "480p", "720p"),
            fps=(24, 25, 30),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> DiffusersEngine | None:
        model = settings.diffusers_model
        if model is None:
            return None
        if not model.is_dir():
            log.warning("FRAMECAST_DIFFUSERS_MODEL=%s is not a directory; the diffusers engine is off", model)
            return None
        return cls(
            model,
            steps=settings.diffusers_steps,
            max_duration_s=settings.diffusers_max_duration_s,
            device=settings.diffusers_device,
            step_delay_s=settings.debug_frame_delay_ms / 1000.0,
            max_pixels=settings.diffusers_max_pixels,
            max_frames=settings.diffusers_max_frames,
        )

    @property
    def info(self) -> EngineInfo:
        return self._info

    def check(self, options: VideoOptions, *, has_timeline: bool) -> None:
        check_against_info(self._info, options, has_timeline=has_timeline)

    def generate(self, request: GenerationRequest, run: EngineRun) -> Generated:
        pipe, torch = load_pipeline(self.model_dir, self.device)
        run.check_cancelled()
        # The seed of the first attempt: a re-run after a crash makes the same video.
        seed = int(run.checkpoint().get("seed", request.seed))
        if "seed" not in run.checkpoint():
            run.record("seed", str(seed))
        width, height = generation_size(request.width, request.height, self.max_pixels)
        total = self.steps
        generator = torch.Generator(device="cpu").manual_seed(seed)
        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "num_frames": request.frames if self.max_frames is None else min(request.frames, self.max_frames),
            "height": height,
            "width": width,
            "num_inference_steps": total,
            "generator": generator,
            "output_type": "np",
        }
        accepted = inspect.signature(pipe.__call__).parameters

        last_step = 0

        def step_done(step: int) -> bool:
            """After step ``step`` (1-based): report it; True when the run must stop."""
            nonlocal last_step
            last_step = step
            if self.step_delay_s > 0:
                time.sleep(self.step_delay_s)
            run.progress(step, total)
            return run.should_stop()

        if "callback_on_step_end" in accepted:

            def on_step_end(_pipe: Any, index: int, _t: Any, _tensors: dict[str, Any]) -> dict[str, Any]:
                if step_done(index + 1):
                    raise _Stop
                return {}

            kwargs["callback_on_step_end"] = on_step_end
        elif "callback" in accepted:

            def on_step(index: int, _t: Any, _latents: Any) -> None:
                if step_done(index + 1):
                    raise _Stop

            kwargs["callback"] = on_step
            kwargs["callback_steps"] = 1
        lock = _RUN_LOCKS[id(pipe)]
        while not lock.acquire(timeout=0.2):  # another thread of this worker runs the pipeline
            run.check_cancelled()
        began = time.monotonic()
        try:
            with torch.inference_mode():
                output = pipe(**kwargs)
        except _Stop:
            log.info("stopped %s after step %d of %d", request.project_id, last_step, total)
            run.check_cancelled()
            raise Cancelled("The project was cancelled.") from None
        finally:
            lock.release()
        run.check_cancelled()
        log.info("generated %d steps at %dx%d in %.2fs", total, width, height, time.monotonic() - began)
        frames = _video_frames(output)
        return GeneratedFrames(_fit(frames, request), fps=request.fps)

    def cancel(self, checkpoint: Mapping[str, str]) -> None:
        """Nothing runs outside the worker: stopping between steps is all."""


def _video_frames(output: Any) -> list[NDArray[np.uint8]]:
    """The first video of a pipeline's output as H x W x 3 uint8 frames (np floats in [0, 1] or PIL)."""
    video = output.frames[0] if hasattr(output, "frames") else output[0][0]
    frames: list[NDArray[np.uint8]] = []
    for frame in video:
        if isinstance(frame, Image.Image):
            frames.append(np.asarray(frame.convert("RGB"), dtype=np.uint8))
            continue
        array = np.asarray(frame)
        if array.dtype != np.uint8:
            array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
            array = array.transpose(1, 2, 0)  # channels first
        if array.shape[-1] == 1:
            array = np.repeat(array, 3, axis=-1)
        frames.append(np.ascontiguousarray(array[..., :3]))
    if not frames:
        raise TaskFailed("The diffusion pipeline returned no frames.", code="engine_failed")
    return frames


def _fit(frames: list[NDArray[np.uint8]], request: GenerationRequest) -> Iterator[NDArray[np.uint8]]:
    """Exactly ``request.frames`` frames of ``request.width`` x ``request.height`` (a model may make its own
    count, e.g. 8k+1, and its own multiple of 16 pixels)."""
    count = len(frames)
    for n in range(request.frames):
        frame = frames[min(count - 1, n * count // request.frames)]
        if frame.shape[1] != request.width or frame.shape[0] != request.height:
            image = Image.fromarray(frame).resize((request.width, request.height), Image.Resampling.BICUBIC)
            frame = np.asarray(image, dtype=np.uint8)
        yield frame
