"""Records of the ledger as plain dataclasses: what a project, a task, an asset and an event hold."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from framecast.domain.status import Status

JSON = dict[str, Any]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A sortable-enough random id with a type prefix, such as ``prj_3f9a…``."""
    return f"{prefix}_{secrets.token_hex(10)}"


def iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: The kind of every project's first task, which plans the rest. The other kinds, and what runs each, are
#: registered in one place: ``jobs/handlers.py`` (``TASKS``).
PLAN_KIND = "plan"


class AssetKind:
    VIDEO = "video"
    POSTER = "poster"
    SPRITESHEET = "spritesheet"
    AUDIO = "audio"
    IMAGE = "image"


@dataclass
class Task:
    id: str
    project_id: str
    kind: str
    status: Status = Status.QUEUED
    progress: float = 0.0
    attempt: int = 1
    error: JSON | None = None
    depends_on: list[str] = field(default_factory=list)
    params: JSON = field(default_factory=dict)
    position: int = 0
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    message_id: str | None = None
    sent_at: datetime | None = None
    #: The worker process that started it last (``host:pid``); None before it ever ran.
    worker: str | None = None
    #: What earlier attempts recorded for the next (an engine's provider job id); not in ``public()``.
    checkpoint: dict[str, str] = field(default_factory=dict)

    def public(self) -> JSON:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status.value,
            "terminal": self.status.terminal,
            "progress": round(self.progress, 4),
            "attempt": self.attempt,
            "error": self.error,
            "depends_on": list(self.depends_on),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
        }


@dataclass
class Asset:
    id: str
    kind: str
    filename: str
    key: str
    mime: str
    size: int
    owner: str = "local"
    project_id: str | None = None
    task_id: str | None = None
    meta: JSON = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)

    @property
    def url(self) -> str:
        return f"/media/{self.id}/{self.filename}"

    def public(self) -> JSON:
        return {
            "id": self.id,
            "kind": self.kind,
            "url": self.url,
            "filename": self.filename,
            "mime": self.mime,
            "size": self.size,
            "task_id": self.task_id,
            "meta": dict(self.meta),
            "created_at": iso(self.created_at),
        }


@dataclass
class Project:
    id: str
    owner: str
    prompt: str | None
    options: JSON
    status: Status = Status.QUEUED
    timeline: JSON | None = None
    error: JSON | None = None
    result: JSON | None = None
    last_seq: int = 0
    idempotency_key: str | None = None
    request_hash: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    completed_at: datetime | None = None
    delivered_at: datetime | None = None
    delivered_seq: int | None = None
    #: Seconds of video the request asked for (what the daily quota counts).
    seconds: float | None = None


@dataclass(frozen=True)
class OwnerUsage:
    """What an owner uses now: for the quotas."""

    active: int  # queued + running projects
    storage_bytes: int  # every stored file of theirs (uploads and project files)
    #: (created_at, seconds) of their projects created since the start of the day's window, oldest first.
    recent: tuple[tuple[datetime, float], ...] = ()


@dataclass(frozen=True)
class Event:
    """One persisted record of a project's log; ``seq`` is 1, 2, 3… per project with no gaps."""

    project_id: str
    seq: int
    type: str
    data: JSON
    ts: datetime

    def envelope(self) -> JSON:
        return {
            "seq": self.seq,
            "type": self.type,
            "project_id": self.project_id,
            "ts": iso(self.ts),
            "data": self.data,
        }

    @cached_property
    def envelope_json(self) -> str:
        """The envelope as compact JSON, encoded once however many streams send this event."""
        return json.dumps(self.envelope(), separators=(",", ":"), ensure_ascii=False)
