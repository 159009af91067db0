"""What every hosted engine shares: the create-record-poll-download loop, retries, redaction, downloads.

A provider is a small adapter (``Provider``) over its SDK; ``HostedEngine`` drives it:

1. ``run.checkpoint()`` has a job id: resume that job (a re-delivered task never pays twice); otherwise
   create the job and ``run.record`` its id (and when it started) before waiting on it;
2. poll until the job ends, reporting the provider's percent as progress; between polls check cancellation
   (a cancelled project cancels the provider's job) and the overall time limit (past it, the job is
   cancelled and the task fails with ``provider_timeout``);
3. a poll that fails for a passing reason (5xx, a dropped connection, 429) is retried a bounded number of
   times in a row, then the task fails with ``provider_unavailable`` (or ``provider_rate_limited``);
4. download the result (size and time bounded) into ``run.tmp``: no provider URL leaves the worker.

Messages never carry the key or a provider URL: ``scrub`` removes both from anything a provider says.

>>> scrub("bad key sk-123 at https://api.example/v1/x?sig=1", ["sk-123"])
'bad key [redacted] at [url]'
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

from framecast.domain.errors import Cancelled
from framecast.domain.options import VideoOptions
from framecast.engines.base import (
    EngineInfo,
    EngineRun,
    GeneratedFile,
    GenerationRequest,
    ProviderError,
    check_against_info,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Checkpoint keys: the provider's job id, and when the job was created (Unix seconds), so the time limit
#: spans every attempt of the task, not only the last.
JOB_KEY = "provider_job_id"
STARTED_KEY = "provider_job_started_at"

RATE_LIMITED = "provider_rate_limited"
REJECTED = "provider_rejected_prompt"
UNAVAILABLE = "provider_unavailable"
TIMEOUT = "provider_timeout"

_URL = re.compile(r"\b(?:https?|wss?)://\S+")
_MAX_MESSAGE = 300


def scrub(text: object, secrets: Iterable[str] = ()) -> str:
    """``text`` without any of ``secrets`` and without URLs (they expire, and may be signed), shortened."""
    out = str(text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "[redacted]")
    out = _URL.sub("[url]", out)
    out = " ".join(out.split())
    return out if len(out) <= _MAX_MESSAGE else out[: _MAX_MESSAGE - 1] + "…"


def rate_limited(provider: str, retry_after_s: float | None) -> ProviderError:
    """``provider_rate_limited``, with the provider's wait in ``retry_after_s`` and in the message.

    >>> rate_limited("fal", 17).message
    'The fal provider is rate limiting Framecast; it asks to wait 17 s before trying again.'
    """
    wait = (
        f"it asks to wait {retry_after_s:.0f} s before trying again"
        if retry_after_s is not None
        else "try again later"
    )
    return ProviderError(
        f"The {provider} provider is rate limiting Framecast; {wait}.",
        code=RATE_LIMITED,
        retry_after_s=retry_after_s,
    )


def retry_after_seconds(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """The wait a ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms`` header asks for.

    >>> retry_after_seconds({"retry-after": "17"})
    17.0
    >>> retry_after_seconds({"Retry-After-Ms": "1500"})
    1.5
    >>> retry_after_seconds({}) is None
    True
    """
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = (lowered.get("retry-after") or "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class TransientProviderError(Exception):
    """Raised by a provider adapter for a failure worth another try (5xx, a dropped connection, 429 while
    polling); after ``HostedSettings.max_poll_errors`` in a row it becomes a ``ProviderError`` with ``code``."""

    def __init__(self, reason: str, *, code: str = UNAVAILABLE, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.retry_after_s = retry_after_s


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class JobStatus:
    """One poll's answer: the state, the provider's progress (0..1) if it says, the error of a failed job,
    and what the provider needs to fetch a finished job's file (a URL it returned, never shown)."""

    state: JobState
    progress: float | None = None
    error: ProviderError | None = None
    result: object = None


class Provider(Protocol):
    """One hosted API, over its SDK. Methods raise ``ProviderError`` (final) or
    ``TransientProviderError`` (worth another try), never an SDK exception."""

    def create(self, request: GenerationRequest) -> str: ...

    def status(self, job_id: str) -> JobStatus: ...

    def fetch(self, job_id: str, status: JobStatus, dest: Path) -> None: ...

    def cancel(self, job_id: str) -> None: ...


@dataclass(frozen=True)
class HostedSettings:
    """How one hosted engine talks to its provider. ``api_key`` never appears in a repr, log or message."""

    api_key: str = field(repr=False)
    model: str
    #: The SDK's own base URL (OpenAI(base_url=...), replicate.Client(base_url=...)); None: the SDK's default.
    base_url: str | None = None
    poll_interval_s: float = 2.0
    #: The overall limit from the job's creation (across attempts) to its end.
    timeout_s: float = 1800.0
    #: Seconds one HTTP request to the provider may take.
    request_timeout_s: float = 60.0
    max_download_bytes: int = 1 << 30
    download_timeout_s: float = 300.0
    #: The SDK's own retries of one request (where it has a setting: OpenAI's max_retries).
    sdk_max_retries: int = 2
    #: Failed polls in a row before the task fails with provider_unavailable.
    max_poll_errors: int = 5
    #: The longest wait between two tries of a failed poll, whatever Retry-After asks.
    max_backoff_s: float = 30.0


class HostedEngine:
    """An ``Engine`` over one ``Provider``: the loop in this module's docstring."""

    def __init__(
        self,
        info: EngineInfo,
        provider: Provider,
        settings: HostedSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._info = info
        self._provider = provider
        self._settings = settings
        self._clock = clock
        self._sleep = sleep

    @property
    def info(self) -> EngineInfo:
        return self._info

    def check(self, options: VideoOptions, *, has_timeline: bool) -> None:
        check_against_info(self._info, options, has_timeline=has_timeline)

    def cancel(self, checkpoint: Mapping[str, str]) -> None:
        job_id = checkpoint.get(JOB_KEY)
        if job_id:
            self._cancel_job(job_id)

    def generate(self, request: GenerationRequest, run: EngineRun) -> GeneratedFile:
        name = self._info.name
        checkpoint = run.checkpoint()
        job_id = checkpoint.get(JOB_KEY)
        if job_id:
            started = _float(checkpoint.get(STARTED_KEY), default=self._clock())
            log.info("%s: resuming provider job %s of project %s", name, job_id, request.project_id)
        else:
            run.check_cancelled()
            job_id = self._provider.create(request)
            started = self._clock()
            # Recorded before any wait: a task re-delivered after a crash resumes this job, never pays twice.
            run.record(JOB_KEY, job_id)
            run.record(STARTED_KEY, f"{started:.3f}")
            log.info("%s: created provider job %s for project %s", name, job_id, request.project_id)
        status = self._wait(job_id, started, run)
        self._stop_if_cancelled(job_id, run)
        dest = run.tmp / f"{name}-{request.project_id}.mp4"
        self._retrying(lambda: self._provider.fetch(job_id, status, dest), run, what="download")
        if not dest.is_file() or dest.stat().st_size == 0:
            raise ProviderError(f"The {name} provider returned an empty video.", code=UNAVAILABLE)
        log.info("%s: downloaded job %s (%d bytes)", name, job_id, dest.stat().st_size)
        return GeneratedFile(path=dest)

    # -- the wait -----------------------------------------------------------------------------------

    def _wait(self, job_id: str, started: float, run: EngineRun) -> JobStatus:
        last_progress = -1
        while True:
            self._stop_if_cancelled(job_id, run)
            self._stop_if_too_slow(job_id, started)
            status = self._retrying(lambda: self._provider.status(job_id), run, what="poll", job_id=job_id)
            if status.progress is not None:
                percent = max(0, min(100, int(round(status.progress * 100))))
                if percent != last_progress:
                    run.progress(percent, 100)
                    last_progress = percent
            if status.state is JobState.SUCCEEDED:
                if last_progress != 100:
                    run.progress(100, 100)
                return status
            if status.state is JobState.FAILED:
                raise status.error or ProviderError(
                    f"The {self._info.name} provider could not make this video.", code=UNAVAILABLE
                )
            if status.state is JobState.CANCELLED:
                run.check_cancelled()
                raise ProviderError(
                    f"The {self._info.name} provider cancelled the job before it finished.", code=UNAVAILABLE
                )
            self._pause(self._settings.poll_interval_s, run, job_id)

    def _retrying(self, call: Callable[[], _T], run: EngineRun, *, what: str, job_id: str = "") -> _T:
        failures = 0
        while True:
            try:
                return call()
            except TransientProviderError as exc:
                failures += 1
                log.warning(
                    "%s: %s failed (%d of %d): %s",
                    self._info.name,
                    what,
                    failures,
                    self._settings.max_poll_errors,
                    exc.reason,
                )
                if failures >= self._settings.max_poll_errors:
                    if exc.code == RATE_LIMITED:
                        raise rate_limited(self._info.name, exc.retry_after_s) from None
                    raise ProviderError(
                        f"The {self._info.name} provider is not answering ({exc.reason}).", code=exc.code
                    ) from None
                backoff = exc.retry_after_s if exc.retry_after_s is not None else 0.5 * 2 ** (failures - 1)
                self._pause(min(backoff, self._settings.max_backoff_s), run, job_id)

    def _pause(self, seconds: float, run: EngineRun, job_id: str) -> None:
        """Sleep ``seconds`` in short slices, so a cancel is seen within a fraction of a second."""
        remaining = seconds
        while remaining > 0:
            if job_id:
                self._stop_if_cancelled(job_id, run)
            step = min(remaining, 0.2)
            self._sleep(step)
            remaining -= step

    def _stop_if_cancelled(self, job_id: str, run: EngineRun) -> None:
        if run.should_stop():
            self._cancel_job(job_id)
            run.check_cancelled()
            raise Cancelled("The project was cancelled.")

    def _stop_if_too_slow(self, job_id: str, started: float) -> None:
        if self._clock() - started > self._settings.timeout_s:
            self._cancel_job(job_id)
            raise ProviderError(
                f"The {self._info.name} provider did not finish within {self._settings.timeout_s:g} s; "
                "the job was cancelled.",
                code=TIMEOUT,
            )

    def _cancel_job(self, job_id: str) -> None:
        try:
            self._provider.cancel(job_id)
            log.info("%s: cancelled provider job %s", self._info.name, job_id)
        except (ProviderError, TransientProviderError) as exc:
            # Best effort: the project is cancelled (or failed) whatever the provider answers.
            log.warning("%s: could not cancel provider job %s: %s", self._info.name, job_id, exc)


def _float(raw: str | None, *, default: float) -> float:
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


def write_limited(chunks: Iterator[bytes], dest: Path, *, max_bytes: int, provider: str) -> None:
    """Write ``chunks`` to ``dest``, failing (and removing the part) past ``max_bytes``."""
    written = 0
    with dest.open("wb") as out:
        for chunk in chunks:
            written += len(chunk)
            if written > max_bytes:
                out.close()
                dest.unlink(missing_ok=True)
                raise ProviderError(
                    f"The {provider} provider's video is over {max_bytes // 1_000_000} MB; not stored.",
                    code=UNAVAILABLE,
                )
            out.write(chunk)


def download(
    url: str, dest: Path, *, settings: HostedSettings, provider: str, secrets: Iterable[str] = ()
) -> None:
    """Fetch a provider's result URL (a public, expiring file URL: no credentials are sent to it) into
    ``dest``, bounded in size and time; connection failures and 5xx are worth another try."""
    import httpx

    if not url.startswith(("https://", "http://")):
        raise ProviderError(f"The {provider} provider returned no downloadable video.", code=UNAVAILABLE)
    timeout = httpx.Timeout(settings.request_timeout_s, read=settings.request_timeout_s)
    deadline = time.monotonic() + settings.download_timeout_s

    def chunks(response: httpx.Response) -> Iterator[bytes]:
        for chunk in response.iter_bytes():
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"The {provider} provider's video did not download within "
                    f"{settings.download_timeout_s:g} s.",
                    code=TIMEOUT,
                )
            yield chunk

    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise TransientProviderError(f"download answered {response.status_code}")
            if response.status_code != 200:
                raise ProviderError(
                    f"The {provider} provider's video could not be downloaded (HTTP {response.status_code}).",
                    code=UNAVAILABLE,
                )
            length = response.headers.get("content-length")
            if length and length.isdigit() and int(length) > settings.max_download_bytes:
                raise ProviderError(
                    f"The {provider} provider's video is over "
                    f"{settings.max_download_bytes // 1_000_000} MB; not stored.",
                    code=UNAVAILABLE,
                )
            write_limited(chunks(response), dest, max_bytes=settings.max_download_bytes, provider=provider)
    except httpx.TransportError as exc:
        dest.unlink(missing_ok=True)
        raise TransientProviderError(
            f"download failed: {type(exc).__name__}: {scrub(exc, secrets)}"
        ) from None
