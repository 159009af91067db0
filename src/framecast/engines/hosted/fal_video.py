"""fal through the official ``fal-client`` SDK and fal's queue API.

The API: ``POST https://queue.fal.run/{app}`` enqueues a request (answering its ``request_id`` and URLs);
``GET .../requests/{id}/status`` reads it (``IN_QUEUE`` with a position, ``IN_PROGRESS`` with logs,
``COMPLETED``, with ``error`` when the app failed); ``GET .../requests/{id}`` returns the result (here
``{"video": {"url": ...}}``); ``PUT .../requests/{id}/cancel`` cancels it.

Configured by ``FAL_KEY``; ``FRAMECAST_FAL_VIDEO_MODEL`` (default ``fal-ai/wan-25-preview/text-to-video``).
fal-client takes its queue host from the environment (``FAL_QUEUE_RUN_HOST``, default ``queue.`` +
``FAL_RUN_HOST``) when it is first imported and always speaks HTTPS; it has no client option for it.
"""

from __future__ import annotations

import logging
import re
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

NAME = "fal"

#: fal's error types (``error_type``, ``X-Fal-Error-Type`` or a validation item's ``type``) that mean the
#: prompt was refused.
_REJECTION_TYPES = ("content_policy_violation", "content_policy", "value_error", "validation", "moderation")
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")


def fal_info(model: str) -> EngineInfo:
    """What fal-ai/wan-25-preview/text-to-video accepts (its API page on fal): 5 or 10 s; 16:9, 9:16 or 1:1;
    480p, 720p or 1080p; it makes its own sound track."""
    return EngineInfo(
        name=NAME,
        label=f"fal {model}",
        description="A video model on fal's queue: video and sound from a prompt.",
        min_duration_s=5,
        max_duration_s=10,
        durations_s=(5, 10),
        aspects=("16:9", "9:16", "1:1"),
        resolutions=("480p", "720p", "1080p"),
        fps=(30,),
        audio=True,
    )


class FalVideo:
    """The ``Provider`` over ``fal_client.SyncClient``."""

    def __init__(self, settings: HostedSettings) -> None:
        import fal_client

        self._fal = fal_client
        self._settings = settings
        self._secrets = (settings.api_key,)
        self._app = settings.model
        self._client = fal_client.SyncClient(key=settings.api_key, default_timeout=settings.request_timeout_s)

    def create(self, request: GenerationRequest) -> str:
        options = request.options
        arguments: dict[str, Any] = {
            "prompt": request.prompt,
            "duration": str(int(options.duration_s)),
            "aspect_ratio": options.aspect,
            "resolution": options.resolution,
            "seed": request.seed % 2_147_483_648,
        }
        try:
            return self._submit_once(arguments)
        except self._fal.FalClientHTTPError as exc:
            raise self._final(exc) from None
        except (httpx.TransportError, self._fal.FalClientError, KeyError, ValueError) as exc:
            log.warning("%s: submit failed: %s", NAME, type(exc).__name__)
            raise ProviderError(f"The {NAME} provider could not be reached.", code=UNAVAILABLE) from None

    def _submit_once(self, arguments: dict[str, Any]) -> str:
        """``SyncClient.submit`` without its retries: it sends the create again after a 429, 408, 409 or any
        transport error, up to ten times (backoff up to 30 s, Retry-After ignored), so a create whose answer
        was lost would make, and bill, a second job, and a rate limit would hold the worker about a minute.
        One POST over the SDK's own client (its key, queue host and transport) and its error type."""
        client = self._fal.client
        response = self._client._client.post(
            client.QUEUE_URL_FORMAT + self._app, json=arguments, timeout=self._client.default_timeout
        )
        client._raise_for_status(response)
        return str(response.json()["request_id"])

    def status(self, job_id: str) -> JobStatus:
        fal = self._fal
        try:
            status = self._client.status(self._app, job_id, with_logs=True)
        except fal.FalClientHTTPError as exc:
            raise self._transient_or_final(exc) from None
        except (httpx.TransportError, fal.FalClientError) as exc:
            raise TransientProviderError(type(exc).__name__) from None
        if isinstance(status, fal.Queued):
            return JobStatus(JobState.QUEUED, progress=0.0)
        if isinstance(status, fal.InProgress):
            return JobStatus(JobState.RUNNING, progress=_progress(status.logs))
        if isinstance(status, fal.Completed):
            if status.error:
                message = scrub(status.error, self._secrets)
                if _rejection(status.error_type):
                    error = ProviderError(
                        f"The {NAME} provider refused this prompt: {message}", code=REJECTED
                    )
                else:
                    error = ProviderError(
                        f"The {NAME} provider could not make this video: {message}", code=UNAVAILABLE
                    )
                return JobStatus(JobState.FAILED, error=error)
            return JobStatus(JobState.SUCCEEDED, progress=1.0)
        raise TransientProviderError(f"unknown status {type(status).__name__}")

    def fetch(self, job_id: str, status: JobStatus, dest: Path) -> None:
        fal = self._fal
        try:
            result = self._client.result(self._app, job_id)
        except fal.FalClientHTTPError as exc:
            raise self._transient_or_final(exc) from None
        except (httpx.TransportError, fal.FalClientError) as exc:
            raise TransientProviderError(type(exc).__name__) from None
        video = result.get("video") if isinstance(result, dict) else None
        url = video.get("url") if isinstance(video, dict) else None
        if not isinstance(url, str):
            raise ProviderError(f"The {NAME} provider returned no video file.", code=UNAVAILABLE)
        # fal's CDN URLs need no key: none is sent to the file host.
        download(url, dest, settings=self._settings, provider=NAME, secrets=self._secrets)

    def cancel(self, job_id: str) -> None:
        fal = self._fal
        try:
            self._client.cancel(self._app, job_id)
        except fal.FalClientHTTPError as exc:
            if exc.status_code == 400:  # ALREADY_COMPLETED: nothing left to cancel
                return
            raise self._transient_or_final(exc) from None
        except (httpx.TransportError, fal.FalClientError) as exc:
            raise TransientProviderError(type(exc).__name__) from None

    # -- errors -------------------------------------------------------------------------------------

    def _final(self, exc: Any) -> ProviderError:
        status = exc.status_code
        message = scrub(exc.message, self._secrets)
        log.warning("%s: HTTP %s: %s", NAME, status, message)
        if status == 429:
            return rate_limited(NAME, retry_after_seconds(exc.response_headers))
        if status in (400, 422) or _rejection(exc.error_type):
            return ProviderError(f"The {NAME} provider refused this prompt: {message}", code=REJECTED)
        if status in (401, 403):
            return ProviderError(
                f"The {NAME} provider refused Framecast's key (HTTP {status}); "
                "the service's FAL_KEY needs attention.",
                code=UNAVAILABLE,
            )
        return ProviderError(f"The {NAME} provider answered HTTP {status}.", code=UNAVAILABLE)

    def _transient_or_final(self, exc: Any) -> Exception:
        status = exc.status_code
        if status == 429:
            return TransientProviderError(
                "HTTP 429", code=RATE_LIMITED, retry_after_s=retry_after_seconds(exc.response_headers)
            )
        if status >= 500 or status in (408, 409):
            return TransientProviderError(f"HTTP {status}")
        return self._final(exc)


def _rejection(error_type: str | None) -> bool:
    return bool(error_type) and any(word in str(error_type).lower() for word in _REJECTION_TYPES)


def _progress(logs: list[dict[str, Any]] | None) -> float | None:
    """The last percent an app logged (``"step 3/10 30%"``), as 0..1; fal reports no progress of its own."""
    for entry in reversed(logs or []):
        match = _PERCENT.search(str(entry.get("message", "")))
        if match:
            return min(100.0, float(match.group(1))) / 100
    return None


def fal_engine(settings: HostedSettings) -> HostedEngine:
    """The ``fal`` engine: ``settings.api_key`` is ``FAL_KEY``."""
    return HostedEngine(fal_info(settings.model), FalVideo(settings), settings)
