"""Project use cases: submit, snapshot, cancel, retry, delete, deliver, and the gallery."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

from framecast.domain.errors import (
    AlreadyExists,
    Conflict,
    EngineNotAvailable,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from framecast.domain.identity import Caller
from framecast.domain.models import JSON, PLAN_KIND, Asset, Project, Task, iso, new_id, utcnow
from framecast.domain.options import DEFAULT_ENGINE, ProjectRequest, VideoOptions
from framecast.domain.status import Status
from framecast.domain.timeline import parse_timeline
from framecast.domain.webhooks import WebhookEndpoint
from framecast.services import pipeline
from framecast.services.access import may_read_asset, owned_project, visible_project, writer
from framecast.services.dispatch import send_tasks
from framecast.services.ports import EngineCatalog, JobQueue, Ledger, LedgerSession, MediaStore
from framecast.services.quotas import Quotas
from framecast.services.snapshots import PollingPolicy, SnapshotView

__all__ = ["PollingPolicy", "ProjectService", "ProjectWebhooks", "request_hash"]

log = logging.getLogger(__name__)


def request_hash(request: ProjectRequest) -> str:
    body = request.model_dump(mode="json")
    for name in ("webhook", "webhook_events"):
        if body.get(name) is None:
            # Left out when unset: a request made before webhooks existed keeps its hash (Idempotency-Key).
            body.pop(name, None)
    if body.get("engine") == DEFAULT_ENGINE:
        body.pop("engine")  # likewise for a request made before engines existed
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ProjectWebhooks(Protocol):
    """What submit needs of the webhook use cases (``services.webhooks.WebhookService``)."""

    def project_endpoint(
        self, owner: str, project_id: str, url: str, events: list[str] | None
    ) -> WebhookEndpoint: ...


class ProjectService:
    """The project use cases over the ledger, the job queue and the media store.

    >>> service = ProjectService(ledger, queue, media)            # doctest: +SKIP
    >>> project, created = service.submit(ProjectRequest(prompt="Sunset"), caller=Caller("local"))
    """

    def __init__(
        self,
        ledger: Ledger,
        queue: JobQueue,
        media: MediaStore,
        *,
        polling: PollingPolicy | None = None,
        progress_weights: Mapping[str, float] | None = None,
        quotas: Quotas | None = None,
        retention_days: float | None = None,
        webhooks: ProjectWebhooks | None = None,
        engines: EngineCatalog | None = None,
    ) -> None:
        self.ledger = ledger
        self.queue = queue
        self.media = media
        self.polling = polling or PollingPolicy()
        #: Each task kind's share of the progress bar (the task registry's); unknown kinds weigh 0.5.
        self.progress_weights = dict(progress_weights or {})
        self.quotas = quotas or Quotas()
        self.retention_days = retention_days
        #: Builds the snapshot (the API's and the webhooks').
        self.snapshots = SnapshotView(self.polling, self.progress_weights, retention_days)
        #: Projects' own webhooks (``ProjectRequest.webhook``); None: a request with one is refused.
        self.webhooks = webhooks
        #: The engines this service has; None: only the procedural one.
        self.engines = engines

    # -- commands -------------------------------------------------------------------------------------

    def submit(
        self, request: ProjectRequest, *, caller: Caller, idempotency_key: str | None = None
    ) -> tuple[Project, bool]:
        """Create a project (or return the one this Idempotency-Key made); True when it is new."""
        owner = writer(caller)
        options = request.options()
        self._check_engine(options, has_timeline=request.timeline is not None)
        timeline: JSON | None = None
        seconds = float(options.duration_s)
        if request.timeline is not None:
            parsed = parse_timeline(request.timeline, options)
            timeline = parsed.model_dump(mode="json")
            seconds = sum(scene.duration_s for scene in parsed.scenes)
        if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
            raise InvalidInput("Idempotency-Key must be 1 to 200 characters.", code="invalid_idempotency_key")
        digest = request_hash(request)
        project = Project(
            id=new_id("prj"),
            owner=owner,
            prompt=request.prompt,
            options=options.model_dump(mode="json"),
            timeline=timeline,
            idempotency_key=idempotency_key,
            request_hash=digest,
            seconds=round(seconds, 3),
        )
        plan = Task(id=new_id("tsk"), project_id=project.id, kind=PLAN_KIND, position=0)
        endpoint = self._project_webhook(request, owner, project.id)
        for _ in range(3):
            try:
                with self.ledger.transaction() as tx:
                    if idempotency_key is not None:
                        existing = tx.project_by_idempotency_key(owner, idempotency_key)
                        if existing is not None:
                            if existing.request_hash != digest:
                                raise IdempotencyConflict(
                                    "This Idempotency-Key was already used with a different request; "
                                    "use a new key for a new video."
                                )
                            return existing, False
                    self.quotas.check(tx, owner, seconds)
                    if timeline is not None:
                        _check_asset_references(tx, timeline, owner)
                    to_send = pipeline.create_project(tx, project, [plan])
                    if endpoint is not None:
                        tx.webhooks.add_endpoint(endpoint)
                break
            except AlreadyExists:
                continue  # a concurrent request with the same key won; the next loop returns its project
        else:
            raise Conflict(
                "Requests with this Idempotency-Key keep colliding; send it again in a moment.",
                code="idempotency_key_busy",
            )
        self._send(to_send)
        return project, True

    def _check_engine(self, options: VideoOptions, *, has_timeline: bool) -> None:
        if self.engines is not None:
            self.engines.check(options.engine, options, has_timeline=has_timeline)
        elif options.engine != DEFAULT_ENGINE:
            raise EngineNotAvailable(
                f"This server has no {options.engine!r} engine; available: {DEFAULT_ENGINE}.", field="engine"
            )

    def _project_webhook(
        self, request: ProjectRequest, owner: str, project_id: str
    ) -> WebhookEndpoint | None:
        """The project's own webhook, its URL checked now (before the transaction: it resolves a name)."""
        if request.webhook is None:
            return None
        if self.webhooks is None:
            raise InvalidInput(
                "This server does not send webhooks.", field="webhook", code="webhooks_disabled"
            )
        events = None if request.webhook_events is None else [e.value for e in request.webhook_events]
        return self.webhooks.project_endpoint(owner, project_id, request.webhook, events)

    def cancel(self, project_id: str, *, caller: Caller) -> JSON:
        with self.ledger.transaction() as tx:
            project = owned_project(tx, project_id, caller)
            if project.status is Status.COMPLETED:
                raise Conflict(
                    "The project already completed; there is nothing to cancel.", code="already_completed"
                )
            pipeline.cancel_project(tx, project)
        return self.snapshot(project_id, caller=caller)

    def retry(self, project_id: str, *, caller: Caller) -> JSON:
        with self.ledger.transaction() as tx:
            project = owned_project(tx, project_id, caller)
            if project.status not in (Status.FAILED, Status.CANCELLED):
                raise Conflict(
                    f"Only a failed or cancelled project can be retried; this one is {project.status.value}.",
                    code="not_retryable",
                )
            to_send = pipeline.retry_project(tx, project)
        self._send(to_send)
        return self.snapshot(project_id, caller=caller)

    def delete(self, project_id: str, *, caller: Caller) -> None:
        with self.ledger.transaction() as tx:
            project = owned_project(tx, project_id, caller)
            pipeline.cancel_project(tx, project)
            tx.delete_project(project_id)
        self._remove_files(project_id)

    def expire(self, days: float, *, now: datetime | None = None, batch: int = 100) -> int:
        """Remove projects that ended more than ``days`` ago, with their files (FRAMECAST_RETENTION_DAYS);
        returns how many. A project whose files cannot be removed now is gone from the ledger all the same:
        the media sweep removes what it left once storage answers."""
        before = (now or utcnow()) - timedelta(days=days)
        with self.ledger.read() as tx:
            expired = tx.finished_before(before, batch)
        for project_id in expired:
            with self.ledger.transaction() as tx:
                project = tx.project(project_id, lock=True)
                if not project.status.terminal:
                    continue  # retried since we looked
                tx.delete_project(project_id)
            self._remove_files(project_id)
        if expired:
            log.info("retention: removed %d project(s) that ended before %s", len(expired), iso(before))
        return len(expired)

    def _remove_files(self, project_id: str) -> None:
        try:
            self.media.delete_prefix(project_id)
        except Unavailable:
            # The project is gone either way; the media sweep removes its files once storage answers.
            log.warning("could not remove the files of %s now; the media sweep will", project_id)

    def deliver(self, project_id: str, *, caller: Caller, seq: int | None) -> JSON:
        """Record that the caller showed the result (a delivery token may: it is the browser's word)."""
        with self.ledger.transaction() as tx:
            project = visible_project(tx, project_id, caller, lock=True)
            if seq is not None and not (0 <= seq <= project.last_seq):
                raise InvalidInput(
                    f"seq must be between 0 and the project's last_seq ({project.last_seq}).", field="seq"
                )
            if project.delivered_at is None:
                tx.update_project(project_id, delivered_at=utcnow(), delivered_seq=seq)
        return self.snapshot(project_id, caller=caller)

    def reconcile(self) -> int:
        """Re-send the unfinished tasks of every active project with a fresh attempt; returns how many."""
        sent = 0
        with self.ledger.read() as tx:
            active = [p.id for p in tx.active_projects()]
        for project_id in active:
            with self.ledger.transaction() as tx:
                project = tx.project(project_id, lock=True)
                if project.status.terminal:
                    continue
                to_send = pipeline.reconcile_project(tx, project)
            self._send(to_send)
            sent += len(to_send)
        if sent:
            log.info("reconciled %d task(s) of %d active project(s)", sent, len(active))
        return sent

    def _send(self, tasks: list[Task]) -> None:
        send_tasks(self.ledger, self.queue, tasks)

    # -- queries --------------------------------------------------------------------------------------

    def project(self, project_id: str, *, caller: Caller) -> Project:
        with self.ledger.read() as tx:
            return visible_project(tx, project_id, caller)

    def snapshot(self, project_id: str, *, caller: Caller) -> JSON:
        with self.ledger.read() as tx:
            project = visible_project(tx, project_id, caller)
            return self._snapshot(tx, project)

    def _expiry(self, project: Project) -> datetime | None:
        return self.snapshots.expiry(project)

    def _snapshot(self, tx: LedgerSession, project: Project) -> JSON:
        return self.snapshots.build(tx, project)

    def poll(self, project_id: str, *, caller: Caller, after: int, limit: int = 500) -> JSON:
        """The JSON polling view of the log: events after ``after``."""
        project = self.project(project_id, caller=caller)
        events = self.ledger.events_after(project_id, after, limit)
        seen = events[-1].seq if events else after
        return {
            "events": [e.envelope() for e in events],
            "last_seq": project.last_seq,
            "terminal": project.status.terminal and seen >= project.last_seq,
            "next_poll_ms": self.polling.next_poll_ms(project.status),
        }

    def asset(self, asset_id: str, *, caller: Caller) -> Asset:
        """A stored file the caller may read: its owner's (an upload, or a file of their project), any for
        an admin, a file of the token's project for a delivery token. Any other is "no such file"."""
        with self.ledger.read() as tx:
            asset = tx.asset(asset_id)
        if asset is None or not may_read_asset(asset, caller):
            raise NotFound(f"No file with id {asset_id!r}.", code="asset_not_found")
        return asset

    def list_videos(self, *, caller: Caller, limit: int = 20, cursor: str | None = None) -> JSON:
        if caller.read_only:
            raise Unauthenticated("A delivery token reads its own project only; sign in to see the gallery.")
        before = _decode_cursor(cursor) if cursor else None
        projects = self.ledger.list_completed(caller.owner_filter(), limit + 1, before)
        items = []
        for project in projects[:limit]:
            items.append(
                {
                    "project_id": project.id,
                    "prompt": project.prompt,
                    "options": project.options,
                    "result": project.result,
                    "created_at": iso(project.created_at),
                    "completed_at": iso(project.completed_at),
                    "expires_at": iso(self._expiry(project)),
                    "delivered_at": iso(project.delivered_at),
                }
            )
        next_cursor = None
        if len(projects) > limit:
            last = projects[limit - 1]
            next_cursor = _encode_cursor(last.completed_at or last.created_at, last.id)
        return {"items": items, "next_cursor": next_cursor}


def _asset_references(value: object, path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            # Every field that names an upload ends so: asset_id (images), music_asset_id (audio).
            if (key == "asset_id" or key.endswith("_asset_id")) and isinstance(item, str):
                found.append((f"{path}.{key}", item))
            else:
                found.extend(_asset_references(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_asset_references(item, f"{path}.{index}"))
    return found


def _check_asset_references(tx: LedgerSession, timeline: JSON, owner: str) -> None:
    """Every uploaded file a timeline names must exist and belong to the caller (refused now, not at render)."""
    for field, asset_id in _asset_references(timeline, "timeline"):
        asset = tx.asset(asset_id)
        if asset is None or asset.owner != owner or asset.project_id is not None:
            raise InvalidInput(
                f"{field}: there is no uploaded file {asset_id!r}; upload it with POST /api/uploads first.",
                field=field,
                code="unknown_asset",
            )


def _encode_cursor(ts: datetime, project_id: str) -> str:
    raw = json.dumps([ts.isoformat(), project_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, project_id = json.loads(raw)
        return datetime.fromisoformat(ts), str(project_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            "cursor is not one this server gave out; start again without it.", field="cursor"
        ) from exc
