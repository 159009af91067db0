"""OpenAI Videos (Sora) through the official ``openai`` SDK.

The API: ``POST /v1/videos`` (multipart: prompt, model, seconds, size) creates a job; ``GET /v1/videos/{id}``
reads it (``queued``, ``in_progress`` with ``progress`` 0..100, ``completed``, ``failed`` with ``error``);
``GET /v1/videos/{id}/content`` streams the MP4; ``DELETE /v1/videos/{id}`` removes it. The API documents no
separate cancel, so cancelling a Framecast project deletes the provider's job.

Configured by ``OPENAI_API_KEY``; ``FRAMECAST_OPENAI_VIDEO_MODEL`` (default ``sora-2``) and
``FRAMECAST_OPENAI_BASE_URL`` (the SDK's ``base_url``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    rate_limited,
    retry_after_seconds,
    scrub,
    write_limited,
)

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

NAME = "openai"

#: (aspect, resolution) -> the size the API takes, per model (the API reference's allowed values).
_SIZES: dict[str, dict[tuple[str, str], str]] = {
    "sora-2": {("16:9", "720p"): "1280x720", ("9:16", "720p"): "720x1280"},
    "sora-2-pro": {
        ("16:9", "720p"): "1280x720",
        ("9:16", "720p"): "720x1280",
        ("16:9", "1080p"): "1792x1024",
        ("9:16", "1080p"): "1024x1792",
    },
}

#: Error codes of a failed job (or a refused create) that mean the prompt itself was refused.
_REJECTION_WORDS = ("moderation", "policy", "safety", "content", "invalid_prompt", "rejected")


def openai_info(model: str) -> EngineInfo:
    """What the model accepts: 4, 8 or 12 s; 16:9 or 9:16 at 720p (sora-2-pro also at 1792x1024, as
    1080p); a sound track of its own."""
    sizes = _sizes(model)
    return EngineInfo(
        name=NAME,
        label=f"OpenAI {model}",
        description="OpenAI's hosted video model (Sora): video and sound from a prompt.",
        min_duration_s=4,
        max_duration_s=12,
        durations_s=(4, 8, 12),
        aspects=tuple(dict.fromkeys(aspect for aspect, _ in sizes)),
        resolutions=tuple(dict.fromkeys(res for _, res in sizes)),
        fps=(30,),
        audio=True,
    )


def _sizes(model: str) -> dict[tuple[str, str], str]:
    base = model.split("-20")[0]  # dated snapshots (sora-2-2025-10-06) take their family's sizes
    return _SIZES.get(base, _SIZES["sora-2"])


class OpenAIVideos:
    """The ``Provider`` over ``openai.OpenAI().videos``."""

    def __init__(self, settings: HostedSettings) -> None:
        import openai

        self._openai = openai
        self._settings = settings
        self._secrets = (settings.api_key,)
        self._client = openai.OpenAI(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=settings.request_timeout_s,
            max_retries=settings.sdk_max_retries,
        )

    def create(self, request: GenerationRequest) -> str:
        size = _sizes(self._settings.model).get((request.options.aspect, request.options.resolution))
        if size is None:
            raise ProviderError(
                f"The {NAME} engine cannot make {request.options.aspect} at {request.options.resolution}.",
                code=REJECTED,
            )
        try:
            # No SDK retries on the create: a 429 goes back to the task with the provider's wait, and a
            # create that may have reached the provider is not sent twice.
            video = self._client.with_options(max_retries=0).videos.create(
                prompt=request.prompt,
                model=self._settings.model,
                seconds=str(int(request.options.duration_s)),  # type: ignore[arg-type]
                size=size,  # type: ignore[arg-type]
            )
        except self._openai.OpenAIError as exc:
            raise self._final(exc) from None
        return video.id

    def status(self, job_id: str) -> JobStatus:
        try:
            video = self._client.videos.retrieve(job_id)
        except self._openai.OpenAIError as exc:
            raise self._transient_or_final(exc) from None
        progress = (video.progress or 0) / 100
        if video.status == "queued":
            return JobStatus(JobState.QUEUED, progress=progress)
        if video.status == "in_progress":
            return JobStatus(JobState.RUNNING, progress=progress)
        if video.status == "completed":
            return JobStatus(JobState.SUCCEEDED, progress=1.0)
        error = video.error
        code = error.code if error else ""
        message = scrub(error.message, self._secrets) if error else "no reason given"
        return JobStatus(JobState.FAILED, error=_failed(code, message))

    def fetch(self, job_id: str, status: JobStatus, dest: Path) -> None:
        try:
            with self._client.videos.with_streaming_response.download_content(
                job_id, timeout=self._settings.download_timeout_s
            ) as response:
                length = response.headers.get("content-length")
                if length and length.isdigit() and int(length) > self._settings.max_download_bytes:
                    raise ProviderError(
                        f"The {NAME} provider's video is over "
                        f"{self._settings.max_download_bytes // 1_000_000} MB; not stored.",
                        code=UNAVAILABLE,
                    )
                write_limited(
                    response.iter_bytes(), dest, max_bytes=self._settings.max_download_bytes, provider=NAME
                )
        except self._openai.OpenAIError as exc:
            dest.unlink(missing_ok=True)
            raise self._transient_or_final(exc) from None

    def cancel(self, job_id: str) -> None:
        try:
            self._client.videos.delete(job_id)
        except self._openai.NotFoundError:
            return
        except self._openai.OpenAIError as exc:
            raise self._transient_or_final(exc) from None

    # -- errors -------------------------------------------------------------------------------------

    def _final(self, exc: openai.OpenAIError) -> ProviderError:
        openai = self._openai
        log.warning("%s: %s: %s", NAME, type(exc).__name__, scrub(exc, self._secrets))
        if isinstance(exc, openai.RateLimitError):
            return rate_limited(NAME, retry_after_seconds(dict(exc.response.headers)))
        if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
            return ProviderError(
                f"The {NAME} provider refused this prompt: {_message(exc, self._secrets)}", code=REJECTED
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return ProviderError(
                f"The {NAME} provider refused Framecast's key (HTTP {exc.status_code}); "
                "the service's OPENAI_API_KEY needs attention.",
                code=UNAVAILABLE,
            )
        if isinstance(exc, openai.APIStatusError):
            return ProviderError(f"The {NAME} provider answered HTTP {exc.status_code}.", code=UNAVAILABLE)
        return ProviderError(f"The {NAME} provider could not be reached.", code=UNAVAILABLE)

    def _transient_or_final(self, exc: openai.OpenAIError) -> Exception:
        openai = self._openai
        if isinstance(exc, openai.RateLimitError):
            return TransientProviderError(
                "HTTP 429", code=RATE_LIMITED, retry_after_s=retry_after_seconds(dict(exc.response.headers))
            )
        if isinstance(exc, openai.InternalServerError | openai.APIConnectionError):
            return TransientProviderError(f"{type(exc).__name__}: {scrub(exc, self._secrets)}")
        if isinstance(exc, openai.APIStatusError) and exc.status_code in (408, 409, 502, 503, 504):
            return TransientProviderError(f"HTTP {exc.status_code}")
        return self._final(exc)


def _message(exc: Any, secrets: tuple[str, ...]) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return scrub(inner["message"], secrets)
    return scrub(getattr(exc, "message", exc), secrets)


def _failed(code: str, message: str) -> ProviderError:
    if any(word in (code or "").lower() for word in _REJECTION_WORDS):
        return ProviderError(f"The {NAME} provider refused this prompt: {message}", code=REJECTED)
    return ProviderError(f"The {NAME} provider could not make this video: {message}", code=UNAVAILABLE)


def openai_engine(settings: HostedSettings) -> HostedEngine:
    """The ``openai`` engine: ``settings.api_key`` is ``OPENAI_API_KEY``."""
    return HostedEngine(openai_info(settings.model), OpenAIVideos(settings), settings)
