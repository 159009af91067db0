"""Replicate through the official ``replicate`` SDK.

The API: ``POST /v1/models/{owner}/{name}/predictions`` (or ``POST /v1/predictions`` with a ``version``)
creates a prediction; ``GET /v1/predictions/{id}`` reads it (``starting``, ``processing``, ``succeeded`` with
``output`` a file URL, ``failed`` with ``error``, ``canceled``); ``POST /v1/predictions/{id}/cancel`` cancels
it. Progress comes from the prediction's logs (the SDK parses the ``NN%|...| i/n`` lines models print).

Configured by ``REPLICATE_API_TOKEN``; ``FRAMECAST_REPLICATE_VIDEO_MODEL`` (default
``wan-video/wan-2.7-t2v``; ``owner/name`` or ``owner/name:version``) and ``FRAMECAST_REPLICATE_BASE_URL``
(the SDK's ``base_url``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import httpx

from framecast.engines.base import EngineInfo, GenerationRequest, ProviderError
from framecast.engines.hosted.common import (
    RATE_LIMITED,
    REJECTED,
    UNAVAILABLE,
    HostedEngine,
    HostedSettings,
    JobState,
    JobStatus,
    TransientProviderError,
    download,
    rate_limited,
    retry_after_seconds,
    scrub,
)

log = logging.getLogger(__name__)

NAME = "replicate"

#: Words in a failed prediction's error that mean the prompt or its output was refused (safety checkers).
_REJECTION_WORDS = ("nsfw", "safety", "flagged", "sensitive", "moderation", "policy", "inappropriate")


def replicate_info(model: str) -> EngineInfo:
    """What wan-video/wan-2.7-t2v accepts (its input schema on Replicate): 2 to 15 s in whole seconds,
    16:9, 9:16 or 1:1, 720p or 1080p; it makes its own sound track."""
    return EngineInfo(
        name=NAME,
        label=f"Replicate {model.split(':')[0]}",
        description="A video model hosted on Replicate: video and sound from a prompt.",
        min_duration_s=2,
        max_duration_s=15,
        durations_s=tuple(float(s) for s in range(2, 16)),
        aspects=("16:9", "9:16", "1:1"),
        resolutions=("720p", "1080p"),
        fps=(30,),
        audio=True,
    )


class ReplicateVideo:
    """The ``Provider`` over ``replicate.Client().predictions``."""

    def __init__(self, settings: HostedSettings) -> None:
        import replicate.client
        import replicate.exceptions

        self._replicate = replicate
        self._settings = settings
        self._secrets = (settings.api_key,)
        # ReplicateError keeps the status but not the headers: a response hook notes the Retry-After of
        # the last 429 this thread saw, so a rate limit carries the provider's own wait.
        self._seen = threading.local()
        self._client = replicate.client.Client(
            api_token=settings.api_key,
            base_url=settings.base_url,
            timeout=httpx.Timeout(settings.request_timeout_s, connect=min(10.0, settings.request_timeout_s)),
            event_hooks={"response": [self._note_response]},
        )

    def _note_response(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self._seen.retry_after = retry_after_seconds(dict(response.headers))

    def _retry_after(self) -> float | None:
        value: float | None = getattr(self._seen, "retry_after", None)
        self._seen.retry_after = None
        return value

    def create(self, request: GenerationRequest) -> str:
        options = request.options
        inputs: dict[str, Any] = {
            "prompt": request.prompt,
            "duration": int(options.duration_s),
            "aspect_ratio": options.aspect,
            "resolution": options.resolution,
            "seed": request.seed % 2_147_483_648,
        }
        model = self._settings.model
        self._seen.retry_after = None
        try:
            if ":" in model:
                prediction = self._client.predictions.create(version=model.split(":", 1)[1], input=inputs)
            else:
                prediction = self._client.predictions.create(model=model, input=inputs)
        except self._replicate.exceptions.ReplicateError as exc:
            raise self._final(exc) from None
        except httpx.TransportError as exc:
            log.warning("%s: create failed: %s", NAME, type(exc).__name__)
            raise ProviderError(f"The {NAME} provider could not be reached.", code=UNAVAILABLE) from None
        return str(prediction.id)

    def status(self, job_id: str) -> JobStatus:
        try:
            prediction = self._client.predictions.get(job_id)
        except self._replicate.exceptions.ReplicateError as exc:
            raise self._transient_or_final(exc) from None
        except httpx.TransportError as exc:
            raise TransientProviderError(f"{type(exc).__name__}") from None
        state = prediction.status
        if state == "starting":
            return JobStatus(JobState.QUEUED, progress=0.0)
        if state == "processing":
            progress = prediction.progress
            return JobStatus(JobState.RUNNING, progress=progress.percentage if progress else None)
        if state == "succeeded":
            return JobStatus(JobState.SUCCEEDED, progress=1.0, result=prediction.output)
        if state == "canceled":
            return JobStatus(JobState.CANCELLED)
        message = scrub(prediction.error or "no reason given", self._secrets)
        if any(word in message.lower() for word in _REJECTION_WORDS):
            return JobStatus(
                JobState.FAILED,
                error=ProviderError(f"The {NAME} provider refused this prompt: {message}", code=REJECTED),
            )
        return JobStatus(
            JobState.FAILED,
            error=ProviderError(
                f"The {NAME} provider could not make this video: {message}", code=UNAVAILABLE
            ),
        )

    def fetch(self, job_id: str, status: JobStatus, dest: Path) -> None:
        output = status.result
        if isinstance(output, list):
            output = next((item for item in output if isinstance(item, str)), None)
        if isinstance(output, dict):
            output = output.get("video") or output.get("url")
        if not isinstance(output, str):
            raise ProviderError(f"The {NAME} provider returned no video file.", code=UNAVAILABLE)
        # Replicate's file URLs need no token: none is sent to the file host.
        download(output, dest, settings=self._settings, provider=NAME, secrets=self._secrets)

    def cancel(self, job_id: str) -> None:
        try:
            self._client.predictions.cancel(job_id)
        except self._replicate.exceptions.ReplicateError as exc:
            raise self._transient_or_final(exc) from None
        except httpx.TransportError as exc:
            raise TransientProviderError(f"{type(exc).__name__}") from None

    # -- errors -------------------------------------------------------------------------------------

    def _detail(self, exc: Any) -> str:
        return scrub(exc.detail or exc.title or "no reason given", self._secrets)

    def _final(self, exc: Any) -> ProviderError:
        status = exc.status or 0
        log.warning("%s: HTTP %s: %s", NAME, status, self._detail(exc))
        if status == 429:
            return rate_limited(NAME, self._retry_after())
        if status in (400, 422):
            return ProviderError(
                f"The {NAME} provider refused this prompt: {self._detail(exc)}", code=REJECTED
            )
        if status in (401, 403):
            return ProviderError(
                f"The {NAME} provider refused Framecast's token (HTTP {status}); "
                "the service's REPLICATE_API_TOKEN needs attention.",
                code=UNAVAILABLE,
            )
        return ProviderError(f"The {NAME} provider answered HTTP {status}.", code=UNAVAILABLE)

    def _transient_or_final(self, exc: Any) -> Exception:
        status = exc.status or 0
        if status == 429:
            return TransientProviderError("HTTP 429", code=RATE_LIMITED, retry_after_s=self._retry_after())
        if status >= 500 or status in (408, 409):
            return TransientProviderError(f"HTTP {status}")
        return self._final(exc)


def replicate_engine(settings: HostedSettings) -> HostedEngine:
    """The ``replicate`` engine: ``settings.api_key`` is ``REPLICATE_API_TOKEN``."""
    return HostedEngine(replicate_info(settings.model), ReplicateVideo(settings), settings)
