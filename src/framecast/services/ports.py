"""The interfaces services need from the outside world. Adapters in ledger/, events/, jobs/ and media/
implement them; services never import those adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from framecast.domain.identity import ApiKey
from framecast.domain.models import JSON, Asset, Event, OwnerUsage, Project, Task
from framecast.domain.options import VideoOptions
from framecast.domain.webhooks import Attempt, Delivery, WebhookEndpoint


class EngineCatalog(Protocol):
    """The engines this service has (``engines.registry.EngineRegistry``), as the create check needs them."""

    def check(self, name: str, options: VideoOptions, *, has_timeline: bool) -> None:
        """Raise ``EngineNotAvailable`` (422) for an engine not configured here, or an option it cannot do."""
        ...


class WebhookStore(Protocol):
    """Webhook endpoints, their deliveries and every attempt, inside the transaction (or read) of the
    ``LedgerSession`` that hands it out as ``tx.webhooks``: a delivery is written in the same transaction
    as the state change that causes it."""

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None: ...
    def endpoints(self, owner: str, *, project_id: str | None = None) -> list[WebhookEndpoint]:
        """The owner's own endpoints and, with ``project_id``, that project's webhook too; oldest first."""
        ...

    def delete_endpoint(self, endpoint_id: str) -> None: ...
    def disable_endpoint(self, endpoint_id: str, at: datetime, reason: str) -> None: ...
    def rotate_secret(
        self, endpoint_id: str, secret: str, previous: str | None, previous_until: datetime | None
    ) -> None:
        """Set an endpoint's secret, and the one it replaced with when that stops signing (None: at once)."""
        ...

    def add_deliveries(self, deliveries: list[Delivery]) -> None: ...
    def delivery(self, delivery_id: str) -> Delivery | None: ...
    def deliveries(self, project_id: str) -> list[Delivery]:
        """The project's deliveries with their attempts, oldest first."""
        ...

    def deliveries_due(self, before: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries whose next attempt is at or before ``before``, soonest first (attempts not
        loaded); on Postgres the rows are locked, skipping rows another transaction holds."""
        ...

    def pending_deliveries(self, endpoint_id: str) -> list[Delivery]: ...
    def update_delivery(self, delivery_id: str, **fields: Any) -> None: ...
    def add_attempt(self, delivery_id: str, attempt: Attempt) -> None: ...


class LedgerSession(Protocol):
    """One write transaction. ``project(..., lock=True)`` serialises writers of one project (row lock on
    Postgres, the database lock on SQLite), so read-modify-write inside it is safe."""

    @property
    def webhooks(self) -> WebhookStore:
        """Webhook endpoints and deliveries, in this same transaction."""
        ...

    def project(self, project_id: str, *, owner: str | None = None, lock: bool = False) -> Project: ...
    def project_by_idempotency_key(self, owner: str, key: str) -> Project | None: ...
    def tasks(self, project_id: str) -> list[Task]: ...
    def task(self, task_id: str) -> Task: ...
    def assets(self, project_id: str) -> list[Asset]: ...
    def asset(self, asset_id: str) -> Asset | None: ...
    def add_project(self, project: Project) -> None: ...
    def add_tasks(self, new: list[Task]) -> None: ...
    def add_asset(self, asset: Asset) -> bool: ...
    def update_project(self, project_id: str, **fields: Any) -> None: ...
    def update_task(self, task_id: str, **fields: Any) -> None: ...
    def mark_enqueued(self, task_ids: list[str], at: datetime) -> None: ...
    def delete_project(self, project_id: str) -> None: ...
    def append_event(self, project_id: str, type_: str, data: JSON) -> Event: ...
    def append_events(self, project_id: str, items: list[tuple[str, JSON]]) -> list[Event]: ...
    def active_projects(self) -> list[Project]: ...
    def existing_project_ids(self, project_ids: list[str]) -> set[str]: ...
    def queue_position(self, project_id: str) -> int | None: ...
    def active_count(self) -> int: ...
    def finished_before(self, before: datetime, limit: int) -> list[str]: ...
    def owner_usage(self, owner: str, since: datetime) -> OwnerUsage:
        """The owner's active projects, stored bytes, and projects created since ``since``."""
        ...

    def add_outbox(self, entries: list[tuple[str, int]]) -> None: ...
    def outbox_due(self, before: datetime) -> list[tuple[str, int]]: ...
    def delete_outbox(self, task_id: str, attempt: int) -> None: ...
    def tasks_where(self, *, status: str, before: datetime, column: str) -> list[Task]: ...
    def running_tasks_of(self, worker: str) -> list[Task]:
        """The running tasks that ``worker`` (``host:pid``) started last."""
        ...

    def add_counter(self, metric: str, label: str, le: str, value: float) -> None:
        """Count one observation ``value`` of ``metric`` under ``label`` in the bucket ``le`` ("" for a plain
        counter): the counters ``/metrics`` reads (see ``services.metrics``)."""
        ...


class Ledger(Protocol):
    """The source of truth. Reads are snapshots; writes happen inside ``transaction()``."""

    def transaction(self) -> AbstractContextManager[LedgerSession]: ...
    def read(self) -> AbstractContextManager[LedgerSession]: ...
    def events_after(self, project_id: str, after: int, limit: int = 1000) -> list[Event]: ...
    def mark_sent(self, sent: list[tuple[str, int, str]]) -> None: ...
    def heartbeat(self, task_id: str, attempt: int) -> None: ...
    def list_completed(
        self, owner: str | None, limit: int, before: tuple[datetime, str] | None
    ) -> list[Project]:
        """Completed projects newest first (``owner`` None: every owner's)."""
        ...

    def ping(self) -> None: ...

    def leadership(self, name: str) -> AbstractContextManager[bool]:
        """Lead the job ``name`` among every process on this ledger while the block runs: yields True for
        the one holder, False (without waiting) for the others."""
        ...


class KeyStore(Protocol):
    """API keys (stored hashed) and the service's own secrets, shared by every process on the ledger."""

    def add_api_key(self, key: ApiKey) -> None: ...
    def api_key(self, key_id: str) -> ApiKey | None: ...
    def api_keys(self) -> list[ApiKey]: ...
    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        """Mark the key revoked (once: a second revocation keeps the first time) and end its sessions."""
        ...

    def add_session(self, token_hash: str, key_id: str, created_at: datetime, expires_at: datetime) -> None:
        """Store a page session (only a hash of its cookie); sessions already expired are removed."""
        ...

    def session_key_id(self, token_hash: str, now: datetime) -> str | None:
        """The key a session was opened with, or None when it is unknown, ended or expired at ``now``."""
        ...

    def end_session(self, token_hash: str) -> None:
        """Sign out: the session stops working on every process (ending an unknown one does nothing)."""
        ...

    def service_secret(self, name: str, make: Callable[[], str]) -> str:
        """The secret ``name``; made with ``make`` and stored the first time (the first writer wins, so
        every process gets the same one)."""
        ...

    def kept_service_secret(self, name: str) -> tuple[str, datetime | None] | None:
        """The secret ``name`` and until when it is kept (None: for good), or None when there is none."""
        ...

    def rotate_service_secret(
        self, name: str, value: str, *, previous_name: str, previous_until: datetime | None
    ) -> None:
        """In one transaction: keep the current ``name`` as ``previous_name`` until ``previous_until``
        (None: drop it, and any older one), and make ``value`` the secret ``name``."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    """One POST to make: the body (sent byte for byte as recorded), its ``webhook-id`` and the secret
    (``whsec_…``) that signs it; during a rotation, ``also`` the secrets that sign it too (one ``v1,``
    signature each in ``webhook-signature``, space-separated, as Standard Webhooks allows)."""

    url: str
    message_id: str
    body: str
    secret: str
    also: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one POST came to: the receiver's status (None when it never answered), the time to its
    answer or to the failure, and what went wrong (None for a 2xx; ``HTTP 503 Service Unavailable``, a
    refused address, a timeout...)."""

    status_code: int | None
    latency_ms: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    """The HTTP client of webhooks (adapter: ``webhooks/http.py``)."""

    def check_url(self, url: str) -> None:
        """Raise WebhookUrlNotAllowed unless ``url`` is http(s) and its host resolves only to public
        addresses (any address when private ones are allowed)."""
        ...

    def send(self, message: WebhookMessage) -> SendResult:
        """Sign and POST, checking the address again and connecting to the checked one; never follows a
        redirect. A receiver's failure is a result, not an exception."""
        ...

    def close(self) -> None: ...


class EventLog(Protocol):
    """Where streams read the log after a cursor (the ledger, or a Redis stream backed by the ledger)."""

    def events_after(self, project_id: str, after: int, limit: int = 1000) -> list[Event]: ...


class ChangeProbe(Protocol):
    """A cheap check whose value changes whenever another process commits to the ledger."""

    def __call__(self) -> object: ...
    def close(self) -> None: ...


class EventFeed(Protocol):
    """Every project's events in commit order, by a global id (what one watcher per process tails)."""

    def max_event_id(self) -> int: ...
    def events_since_id(self, last_id: int, limit: int = 5000) -> tuple[int, list[Event]]: ...
    def change_probe(self) -> ChangeProbe | None: ...


class Subscription(Protocol):
    """Live events of one project, as pushed by the hub (may skip events; the ledger fills gaps)."""

    async def get(self, timeout: float) -> Event | None: ...
    def wake(self) -> None:
        """End a pending ``get`` at once (it returns None, or an event that arrived meanwhile)."""
        ...

    def close(self) -> None: ...


class EventHub(Protocol):
    """Fans committed events out to the streams of this process."""

    def subscribe(self, project_id: str) -> Subscription: ...


class RunningEventHub(EventHub, Protocol):
    """A hub with a life: ``start`` on the event loop that serves the streams, ``stop`` at shutdown."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


class JobQueue(Protocol):
    """Sends a task to the worker pool. Sending twice is harmless: a stale or finished task does nothing."""

    def enqueue(self, task: Task) -> str: ...
    def message_exists(self, message_id: str) -> bool: ...
    def ping(self) -> None: ...
    def dead_letters(self) -> int:
        """How many messages the broker has dead-lettered (a delivery that raised out of the task runner,
        kept for inspection until the broker's TTL)."""
        ...


@dataclass(frozen=True, slots=True)
class Histogram:
    """Observations counted per upper bound: ``counts[i]`` is how many were ``<= bounds[i]`` (cumulative,
    as Prometheus buckets are); ``count`` is all of them (the ``+Inf`` bucket), ``total`` their sum."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    count: int = 0
    total: float = 0.0

    @classmethod
    def empty(cls, bounds: tuple[float, ...]) -> Histogram:
        return cls(bounds, (0,) * len(bounds))


@dataclass(frozen=True)
class LedgerStats:
    """What the ledger says about the whole service at one moment (``GET /metrics``): the same from every
    process that reads it. Nothing in it names an owner or repeats a prompt."""

    #: Projects by status (every status, 0 when none).
    projects: dict[str, int]
    #: Tasks sent to the broker and not started, by kind (every kind); steps still waiting for earlier
    #: steps are not in the queue yet.
    tasks_queued: dict[str, int]
    #: Tasks running now, by kind (every kind).
    tasks_running: dict[str, int]
    #: Seconds from start to finish of every task that completed, by kind (cumulative counters).
    task_seconds: dict[str, Histogram]
    #: Frames per second of every render task that completed (cumulative counters).
    render_fps: Histogram
    #: Webhook deliveries by outcome; None while this ledger has no deliveries table.
    webhook_deliveries: dict[str, int] = field(default_factory=dict)


class StatsSource(Protocol):
    """Counts over the ledger for ``/metrics``, read when asked (a few small grouped queries)."""

    def stats(self) -> LedgerStats: ...


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What a media store says about one stored file, for serving it over HTTP."""

    size: int
    etag: str  # quoted, ready for an ETag header
    modified: datetime | None = None


class ByteStream(Protocol):
    """An opened read of a stored file: iterate for the bytes; ``close`` releases it (idempotent)."""

    def __iter__(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


class MediaStore(Protocol):
    """Stored files, addressed by keys such as ``prj_x/ast_y/video.mp4`` (a directory or a bucket)."""

    def put(self, src: Path, key: str) -> int:
        """Store ``src`` (from ``temp_dir()``) as ``key``, consuming it; returns its size."""
        ...

    def fetch(self, key: str, into: Path) -> Path:
        """A local file with the bytes of ``key`` (downloaded into ``into`` when the store is remote)."""
        ...

    def local_file(self, key: str) -> Path | None:
        """The stored file itself when it is on this machine's disk, else None (stream with ``read``)."""
        ...

    def stat(self, key: str) -> StoredFile: ...

    def open_range(self, key: str, start: int, length: int, *, etag: str | None = None) -> ByteStream:
        """Open ``length`` bytes from ``start`` now (errors raise here, before any byte is sent); with
        ``etag``, refuse (Unavailable ``asset_changed``) when the stored file is no longer that version."""
        ...

    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...

    def project_prefixes(self) -> Iterator[str]:
        """The top-level names of project files (``prj_…``), for the orphan sweep."""
        ...

    def temp_dir(self) -> Path: ...
    def ping(self) -> None: ...


class MediaProbe(Protocol):
    """Decodes an uploaded file to prove it is what its first bytes claim.

    Adapter: ``render/encoding/probe.py``.
    """

    def image_size(self, path: Path) -> tuple[int, int]:
        """Width and height of an image whose structure checks out; raises InvalidInput otherwise."""
        ...

    def audio_duration(self, path: Path) -> float:
        """Seconds of audio, every frame decoded; raises InvalidInput when it does not decode."""
        ...
