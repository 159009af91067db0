"""The SQL ledger: write transactions with per-project event sequence numbers, and snapshot reads."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Executable,
    RowMapping,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from framecast.domain.errors import AlreadyExists, NotFound, Unavailable
from framecast.domain.identity import ApiKey
from framecast.domain.models import JSON, Asset, Event, OwnerUsage, Project, Task, utcnow
from framecast.domain.status import Status
from framecast.ledger.engine import is_sqlite, pool_outages, sqlite_open_uri, unavailable
from framecast.ledger.tables import (
    api_keys,
    assets,
    events,
    metric_counters,
    outbox,
    projects,
    service_secrets,
    sessions,
    tasks,
)
from framecast.ledger.webhooks import SqlWebhookStore

CommitHook = Callable[[list[Event]], None]
#: Runs at the end of every write transaction that appended events, inside it, before the commit: it gets
#: the session and the events appended.
BeforeCommitHook = Callable[["SqlSession", list[Event]], object]


_ACTIVE = (Status.QUEUED.value, Status.RUNNING.value)


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def _project(row: RowMapping) -> Project:
    return Project(
        id=row["id"],
        owner=row["owner"],
        prompt=row["prompt"],
        options=dict(row["options"] or {}),
        status=Status(row["status"]),
        timeline=row["timeline"],
        error=row["error"],
        result=row["result"],
        last_seq=row["last_seq"],
        idempotency_key=row["idempotency_key"],
        request_hash=row["request_hash"],
        created_at=_utc(row["created_at"]) or utcnow(),
        updated_at=_utc(row["updated_at"]) or utcnow(),
        completed_at=_utc(row["completed_at"]),
        delivered_at=_utc(row["delivered_at"]),
        delivered_seq=row["delivered_seq"],
        seconds=row["seconds"],
    )


def _task(row: RowMapping) -> Task:
    return Task(
        id=row["id"],
        project_id=row["project_id"],
        kind=row["kind"],
        status=Status(row["status"]),
        progress=row["progress"],
        attempt=row["attempt"],
        error=row["error"],
        depends_on=list(row["depends_on"] or []),
        params=dict(row["params"] or {}),
        position=row["position"],
        enqueued_at=_utc(row["enqueued_at"]),
        started_at=_utc(row["started_at"]),
        finished_at=_utc(row["finished_at"]),
        heartbeat_at=_utc(row["heartbeat_at"]),
        message_id=row["message_id"],
        sent_at=_utc(row["sent_at"]),
        worker=row["worker"],
        checkpoint=dict(row["checkpoint"] or {}),
    )


def _asset(row: RowMapping) -> Asset:
    return Asset(
        id=row["id"],
        owner=row["owner"],
        project_id=row["project_id"],
        task_id=row["task_id"],
        kind=row["kind"],
        filename=row["filename"],
        key=row["key"],
        mime=row["mime"],
        size=row["size"],
        meta=dict(row["meta"] or {}),
        created_at=_utc(row["created_at"]) or utcnow(),
    )


def _api_key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        owner=row["owner"],
        label=row["label"],
        admin=bool(row["admin"]),
        secret_hash=row["secret_hash"],
        created_at=_utc(row["created_at"]) or utcnow(),
        revoked_at=_utc(row["revoked_at"]),
        last_used_at=_utc(row["last_used_at"]),
    )


def _event(row: RowMapping) -> Event:
    return Event(
        project_id=row["project_id"],
        seq=row["seq"],
        type=row["type"],
        data=row["data"],
        ts=_utc(row["ts"]) or utcnow(),
    )


class SqlSession:
    """Operations inside one transaction (see ``services.ports.LedgerSession``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock_rows = not is_sqlite(conn.engine)
        self.appended: list[Event] = []
        self._webhooks = SqlWebhookStore(conn)

    @property
    def webhooks(self) -> SqlWebhookStore:
        return self._webhooks

    def project(self, project_id: str, *, owner: str | None = None, lock: bool = False) -> Project:
        query = select(projects).where(projects.c.id == project_id)
        if owner is not None:
            query = query.where(projects.c.owner == owner)
        if lock and self._lock_rows:
            query = query.with_for_update()
        row = self._conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"No project with id {project_id!r}.", code="project_not_found")
        return _project(row)

    def project_by_idempotency_key(self, owner: str, key: str) -> Project | None:
        row = (
            self._conn.execute(
                select(projects).where(projects.c.owner == owner, projects.c.idempotency_key == key)
            )
            .mappings()
            .first()
        )
        return _project(row) if row else None

    def tasks(self, project_id: str) -> list[Task]:
        rows = self._conn.execute(
            select(tasks).where(tasks.c.project_id == project_id).order_by(tasks.c.position, tasks.c.id)
        ).mappings()
        return [_task(r) for r in rows]

    def task(self, task_id: str) -> Task:
        row = self._conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().first()
        if row is None:
            raise NotFound(f"No task with id {task_id!r}.", code="task_not_found")
        return _task(row)

    def assets(self, project_id: str) -> list[Asset]:
        rows = self._conn.execute(
            select(assets).where(assets.c.project_id == project_id).order_by(assets.c.created_at, assets.c.id)
        ).mappings()
        return [_asset(r) for r in rows]

    def asset(self, asset_id: str) -> Asset | None:
        row = self._conn.execute(select(assets).where(assets.c.id == asset_id)).mappings().first()
        return _asset(row) if row else None

    def add_project(self, project: Project) -> None:
        try:
            self._insert_project(project)
        except IntegrityError as exc:
            raise AlreadyExists("A project with this Idempotency-Key was created concurrently.") from exc

    def _insert_project(self, project: Project) -> None:
        self._conn.execute(
            insert(projects).values(
                id=project.id,
                owner=project.owner,
                status=project.status.value,
                prompt=project.prompt,
                options=project.options,
                timeline=project.timeline,
                error=project.error,
                result=project.result,
                last_seq=0,
                idempotency_key=project.idempotency_key,
                request_hash=project.request_hash,
                created_at=project.created_at,
                updated_at=project.updated_at,
                seconds=project.seconds,
            )
        )

    def add_tasks(self, new: list[Task]) -> None:
        """Insert tasks, all in one statement (a plan adds dozens)."""
        if not new:
            return
        self._conn.execute(
            insert(tasks),
            [
                {
                    "id": task.id,
                    "project_id": task.project_id,
                    "kind": task.kind,
                    "status": task.status.value,
                    "progress": task.progress,
                    "attempt": task.attempt,
                    "error": task.error,
                    "depends_on": task.depends_on,
                    "params": task.params,
                    "position": task.position,
                    "enqueued_at": task.enqueued_at,
                }
                for task in new
            ],
        )

    def add_asset(self, asset: Asset) -> bool:
        """Insert an asset; False when one with the same id exists (a re-delivered task wrote it already)."""
        if self.asset(asset.id) is not None:
            return False
        self._conn.execute(
            insert(assets).values(
                id=asset.id,
                owner=asset.owner,
                project_id=asset.project_id,
                task_id=asset.task_id,
                kind=asset.kind,
                filename=asset.filename,
                key=asset.key,
                mime=asset.mime,
                size=asset.size,
                meta=asset.meta,
                created_at=asset.created_at,
            )
        )
        return True

    def update_project(self, project_id: str, **fields: Any) -> None:
        if "status" in fields and isinstance(fields["status"], Status):
            fields["status"] = fields["status"].value
        fields.setdefault("updated_at", utcnow())
        self._conn.execute(update(projects).where(projects.c.id == project_id).values(**fields))

    def update_task(self, task_id: str, **fields: Any) -> None:
        if "status" in fields and isinstance(fields["status"], Status):
            fields["status"] = fields["status"].value
        self._conn.execute(update(tasks).where(tasks.c.id == task_id).values(**fields))

    def mark_enqueued(self, task_ids: list[str], at: datetime) -> None:
        if task_ids:
            self._conn.execute(update(tasks).where(tasks.c.id.in_(task_ids)).values(enqueued_at=at))

    def delete_project(self, project_id: str) -> None:
        # Explicit deletes: SQLite only cascades with foreign_keys=ON, and Postgres needs no help but no harm.
        self._webhooks.delete_project(project_id)
        self._conn.execute(delete(events).where(events.c.project_id == project_id))
        self._conn.execute(delete(assets).where(assets.c.project_id == project_id))
        self._conn.execute(delete(tasks).where(tasks.c.project_id == project_id))
        self._conn.execute(delete(projects).where(projects.c.id == project_id))

    def append_event(self, project_id: str, type_: str, data: JSON) -> Event:
        """Append to the log. The seq comes from the project row, bumped in this transaction: the row lock
        (Postgres) or the database write lock (SQLite) makes it gap-free and ordered under any number of writers."""
        return self.append_events(project_id, [(type_, data)])[0]

    def append_events(self, project_id: str, items: list[tuple[str, JSON]]) -> list[Event]:
        """Append several events in order: one bump of the project's seq, one insert."""
        if not items:
            return []
        now = utcnow()
        last = self._conn.execute(
            update(projects)
            .where(projects.c.id == project_id)
            .values(last_seq=projects.c.last_seq + len(items), updated_at=now)
            .returning(projects.c.last_seq)
        ).scalar_one_or_none()
        if last is None:
            raise NotFound(f"No project with id {project_id!r}.", code="project_not_found")
        first = last - len(items) + 1
        new = [
            Event(project_id=project_id, seq=first + i, type=type_, data=data, ts=now)
            for i, (type_, data) in enumerate(items)
        ]
        self._conn.execute(
            insert(events),
            [
                {"project_id": project_id, "seq": e.seq, "type": e.type, "data": e.data, "ts": e.ts}
                for e in new
            ],
        )
        self.appended.extend(new)
        return new

    def existing_project_ids(self, project_ids: list[str]) -> set[str]:
        if not project_ids:
            return set()
        rows = self._conn.execute(select(projects.c.id).where(projects.c.id.in_(project_ids)))
        return {row.id for row in rows}

    def active_projects(self) -> list[Project]:
        rows = self._conn.execute(
            select(projects).where(projects.c.status.in_([Status.QUEUED.value, Status.RUNNING.value]))
        ).mappings()
        return [_project(r) for r in rows]

    def finished_before(self, before: datetime, limit: int) -> list[str]:
        """Ids of ended projects (completed, failed, cancelled) last changed before ``before``, oldest first."""
        ended = (Status.COMPLETED.value, Status.FAILED.value, Status.CANCELLED.value)
        rows = self._conn.execute(
            select(projects.c.id)
            .where(projects.c.status.in_(ended), projects.c.updated_at < before)
            .order_by(projects.c.updated_at)
            .limit(limit)
        )
        return [r.id for r in rows]

    def active_count(self) -> int:
        """Queued and running projects of every owner (the service's queue)."""
        query = select(func.count()).select_from(projects).where(projects.c.status.in_(_ACTIVE))
        return int(self._conn.execute(query).scalar_one())

    def owner_usage(self, owner: str, since: datetime) -> OwnerUsage:
        active = self._conn.execute(
            select(func.count())
            .select_from(projects)
            .where(projects.c.owner == owner, projects.c.status.in_(_ACTIVE))
        ).scalar_one()
        storage = self._conn.execute(
            select(func.coalesce(func.sum(assets.c.size), 0)).where(assets.c.owner == owner)
        ).scalar_one()
        rows = self._conn.execute(
            select(projects.c.created_at, projects.c.seconds)
            .where(projects.c.owner == owner, projects.c.created_at >= since)
            .order_by(projects.c.created_at)
        )
        recent = tuple((_utc(r.created_at) or utcnow(), float(r.seconds or 0.0)) for r in rows)
        return OwnerUsage(active=int(active), storage_bytes=int(storage), recent=recent)

    def queue_position(self, project_id: str) -> int | None:
        """How many queued or running projects were created before this one (0: it is next or running)."""
        me = self._conn.execute(
            select(projects.c.created_at, projects.c.status).where(projects.c.id == project_id)
        ).first()
        if me is None or me.status != Status.QUEUED.value:
            return None
        ahead = self._conn.execute(
            select(func.count())
            .select_from(projects)
            .where(
                projects.c.status.in_([Status.QUEUED.value, Status.RUNNING.value]),
                or_(
                    projects.c.created_at < me.created_at,
                    and_(projects.c.created_at == me.created_at, projects.c.id < project_id),
                ),
            )
        ).scalar_one()
        return int(ahead)

    def add_outbox(self, entries: list[tuple[str, int]]) -> None:
        """Outbox rows for these (task id, attempt), skipping any that exist."""
        if not entries:
            return
        existing = {
            (row.task_id, row.attempt)
            for row in self._conn.execute(
                select(outbox.c.task_id, outbox.c.attempt).where(
                    outbox.c.task_id.in_([task_id for task_id, _ in entries])
                )
            )
        }
        now = utcnow()
        rows = [
            {"task_id": task_id, "attempt": attempt, "created_at": now}
            for task_id, attempt in entries
            if (task_id, attempt) not in existing
        ]
        if rows:
            self._conn.execute(insert(outbox), rows)

    def outbox_due(self, before: datetime) -> list[tuple[str, int]]:
        rows = self._conn.execute(
            select(outbox.c.task_id, outbox.c.attempt)
            .where(outbox.c.created_at < before)
            .order_by(outbox.c.id)
        )
        return [(r.task_id, r.attempt) for r in rows]

    def delete_outbox(self, task_id: str, attempt: int) -> None:
        self._conn.execute(delete(outbox).where(outbox.c.task_id == task_id, outbox.c.attempt == attempt))

    def running_tasks_of(self, worker: str) -> list[Task]:
        """The running tasks that ``worker`` (``host:pid``) started last."""
        rows = self._conn.execute(
            select(tasks).where(tasks.c.status == Status.RUNNING.value, tasks.c.worker == worker)
        ).mappings()
        return [_task(r) for r in rows]

    def tasks_where(self, *, status: str, before: datetime, column: str) -> list[Task]:
        """Tasks in ``status`` whose ``column`` (heartbeat_at, sent_at...) is older than ``before`` or unset."""
        col = tasks.c[column]
        rows = self._conn.execute(
            select(tasks).where(tasks.c.status == status, or_(col < before, col.is_(None)))
        ).mappings()
        return [_task(r) for r in rows]

    def add_counter(self, metric: str, label: str, le: str, value: float) -> None:
        """Bump one counter row (made on first use), in this transaction."""
        table = metric_counters
        upsert = (sqlite_insert if is_sqlite(self._conn.engine) else pg_insert)(table).values(
            metric=metric, label=label, le=le, count=1, total=value
        )
        self._conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[table.c.metric, table.c.label, table.c.le],
                set_={"count": table.c.count + 1, "total": table.c.total + value},
            )
        )

    # -- used by SqlLedger's own one-statement reads and writes ------------------------------------------

    def execute(self, statement: Executable) -> CursorResult[Any]:
        """Run one of the ledger's own statements in this transaction (for SqlLedger, not for services)."""
        return self._conn.execute(statement)

    def events_after(self, project_id: str, after: int, limit: int) -> list[Event]:
        rows = self._conn.execute(
            select(events)
            .where(events.c.project_id == project_id, events.c.seq > after)
            .order_by(events.c.seq)
            .limit(limit)
        ).mappings()
        return [_event(r) for r in rows]

    def record_sent(self, task_id: str, attempt: int, message_id: str, at: datetime) -> None:
        self._conn.execute(
            update(tasks)
            .where(tasks.c.id == task_id, tasks.c.attempt == attempt)
            .values(message_id=message_id, sent_at=at)
        )

    def heartbeat(self, task_id: str, attempt: int) -> None:
        self._conn.execute(
            update(tasks)
            .where(tasks.c.id == task_id, tasks.c.attempt == attempt)
            .values(heartbeat_at=utcnow())
        )

    def event_rows_after(self, last_id: int, limit: int) -> list[RowMapping]:
        return list(
            self._conn.execute(
                select(events).where(events.c.id > last_id).order_by(events.c.id).limit(limit)
            ).mappings()
        )

    def max_event_id(self) -> int:
        return int(self._conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one())

    def completed_projects(
        self, owner: str | None, limit: int, before: tuple[datetime, str] | None
    ) -> list[Project]:
        query = select(projects).where(projects.c.status == Status.COMPLETED.value)
        if owner is not None:
            query = query.where(projects.c.owner == owner)
        if before is not None:
            ts, pid = before
            query = query.where(
                or_(projects.c.completed_at < ts, and_(projects.c.completed_at == ts, projects.c.id < pid))
            )
        query = query.order_by(projects.c.completed_at.desc(), projects.c.id.desc()).limit(limit)
        return [_project(r) for r in self._conn.execute(query).mappings()]


class SqlLedger:
    """The ledger over a SQLAlchemy engine. A database that cannot be used raises ``Unavailable``
    (``database_down``, ``database_busy``) from every method; see ``ledger.engine``.

    >>> ledger = SqlLedger(make_engine("sqlite:///data/framecast.db"))   # doctest: +SKIP
    >>> with ledger.transaction() as tx:                                    # doctest: +SKIP
    ...     tx.append_event("prj_1", "task_status", {...})
    """

    def __init__(self, engine: Engine, *, on_commit: CommitHook | None = None) -> None:
        self.engine = engine
        self._on_commit = on_commit
        self._before_commit: BeforeCommitHook | None = None

    def set_commit_hook(self, hook: CommitHook | None) -> None:
        self._on_commit = hook

    def set_before_commit(self, hook: BeforeCommitHook | None) -> None:
        """``hook(session, events)`` runs inside every write transaction that appended events, just before it
        commits (the webhook outbox: its rows commit or roll back with the change that caused them)."""
        self._before_commit = hook

    @contextmanager
    def transaction(self) -> Iterator[SqlSession]:
        """A write transaction; before it commits, the before-commit hook sees it (when it appended
        events); on commit, the events it appended go to the commit hook (the event hub)."""
        with pool_outages(), self.engine.begin() as conn:
            session = SqlSession(conn)
            yield session
            if self._before_commit is not None and session.appended:
                self._before_commit(session, list(session.appended))
        if self._on_commit and session.appended:
            self._on_commit(session.appended)

    @contextmanager
    def read(self) -> Iterator[SqlSession]:
        with pool_outages(), self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="DEFERRED")
            with conn.begin():
                yield SqlSession(conn)

    def events_after(self, project_id: str, after: int, limit: int = 1000) -> list[Event]:
        with self.read() as tx:
            return tx.events_after(project_id, after, limit)

    def mark_sent(self, sent: list[tuple[str, int, str]]) -> None:
        """These (task id, attempt, message id) are with the broker: drop their outbox rows, remember the
        message ids; one transaction for all of them."""
        if not sent:
            return
        now = utcnow()
        with self.transaction() as tx:
            for task_id, attempt, message_id in sent:
                tx.delete_outbox(task_id, attempt)
                tx.record_sent(task_id, attempt, message_id, now)

    def heartbeat(self, task_id: str, attempt: int) -> None:
        with self.transaction() as tx:
            tx.heartbeat(task_id, attempt)

    def events_since_id(self, last_id: int, limit: int = 5000) -> tuple[int, list[Event]]:
        """Events of every project with a global id above ``last_id`` (for the embedded hub)."""
        with self.read() as tx:
            rows = tx.event_rows_after(last_id, limit)
        if not rows:
            return last_id, []
        return int(rows[-1]["id"]), [_event(r) for r in rows]

    def max_event_id(self) -> int:
        with self.read() as tx:
            return tx.max_event_id()

    def change_probe(self) -> _DataVersion | None:
        """A cheap function whose value changes whenever another connection commits (SQLite's
        ``PRAGMA data_version``, microseconds), so a watcher queries the events only when something
        changed; None where there is no such thing (Postgres, an in-memory database). Close it with
        ``probe.close()`` when done (it holds a connection of its own). Unavailable when the database
        file cannot be opened."""
        if not is_sqlite(self.engine) or not self.engine.url.database:
            return None
        if self.engine.url.database == ":memory:":
            return None
        return _DataVersion(self.engine.url.database)

    def list_completed(
        self, owner: str | None, limit: int, before: tuple[datetime, str] | None
    ) -> list[Project]:
        with self.read() as tx:
            return tx.completed_projects(owner, limit, before)

    # -- keys and service secrets (services.ports.KeyStore) ---------------------------------------------

    def add_api_key(self, key: ApiKey) -> None:
        with self.transaction() as tx:
            tx.execute(
                insert(api_keys).values(
                    id=key.id,
                    owner=key.owner,
                    label=key.label,
                    admin=key.admin,
                    secret_hash=key.secret_hash,
                    created_at=key.created_at,
                    revoked_at=key.revoked_at,
                    last_used_at=key.last_used_at,
                )
            )

    def api_key(self, key_id: str) -> ApiKey | None:
        with self.read() as tx:
            row = tx.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
        return _api_key(row) if row else None

    def api_keys(self) -> list[ApiKey]:
        with self.read() as tx:
            rows = tx.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)).mappings()
            return [_api_key(r) for r in rows]

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            tx.execute(delete(sessions).where(sessions.c.key_id == key_id))

    def add_session(self, token_hash: str, key_id: str, created_at: datetime, expires_at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(delete(sessions).where(sessions.c.expires_at <= created_at))
            tx.execute(
                insert(sessions).values(
                    token_hash=token_hash, key_id=key_id, created_at=created_at, expires_at=expires_at
                )
            )

    def session_key_id(self, token_hash: str, now: datetime) -> str | None:
        query = select(sessions.c.key_id).where(
            sessions.c.token_hash == token_hash, sessions.c.expires_at > now
        )
        with self.read() as tx:
            value = tx.execute(query).scalar()
        return None if value is None else str(value)

    def end_session(self, token_hash: str) -> None:
        with self.transaction() as tx:
            tx.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    def service_secret(self, name: str, make: Callable[[], str]) -> str:
        query = select(service_secrets.c.value).where(service_secrets.c.name == name)
        with self.read() as tx:
            value = tx.execute(query).scalar()
        if value is not None:
            return str(value)
        try:
            with self.transaction() as tx:
                tx.execute(insert(service_secrets).values(name=name, value=make(), created_at=utcnow()))
        except IntegrityError:
            pass  # another process made it first: everyone uses that one
        with self.read() as tx:
            return str(tx.execute(query).scalar_one())

    def kept_service_secret(self, name: str) -> tuple[str, datetime | None] | None:
        query = select(service_secrets.c.value, service_secrets.c.expires_at).where(
            service_secrets.c.name == name
        )
        with self.read() as tx:
            row = tx.execute(query).first()
        if row is None:
            return None
        until = row.expires_at
        if until is not None and until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        return str(row.value), until

    def rotate_service_secret(
        self, name: str, value: str, *, previous_name: str, previous_until: datetime | None
    ) -> None:
        now = utcnow()
        with self.transaction() as tx:
            current = tx.execute(
                select(service_secrets.c.value).where(service_secrets.c.name == name)
            ).scalar()
            tx.execute(delete(service_secrets).where(service_secrets.c.name.in_([name, previous_name])))
            if current is not None and previous_until is not None:
                tx.execute(
                    insert(service_secrets).values(
                        name=previous_name, value=current, created_at=now, expires_at=previous_until
                    )
                )
            tx.execute(insert(service_secrets).values(name=name, value=value, created_at=now))

    @contextmanager
    def leadership(self, name: str) -> Iterator[bool]:
        """Hold the lead of the job ``name`` among every process on this database while the block runs;
        yields False (at once, without waiting) when another process holds it. Postgres: a session
        advisory lock; SQLite: a single machine's processes share one file and the embedded deployment
        runs one ``serve``, so the lead is always this process's."""
        if is_sqlite(self.engine):
            yield True
            return
        key = _lock_key(name)
        with pool_outages(), self.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    def ping(self) -> None:
        """Read a row of a real table (``SELECT 1`` would not even touch a SQLite file, and would pass
        against a database without our schema); Unavailable when that fails for any reason."""
        try:
            with self.read() as tx:
                tx.execute(select(projects.c.id).limit(1)).all()
        except SQLAlchemyError as exc:  # not an outage by itself (no schema?), but this process cannot serve
            raise Unavailable(
                f"The database answered with an error ({exc.__class__.__name__}).", code="database_error"
            ) from exc


def _lock_key(name: str) -> int:
    """A stable 63-bit advisory-lock key for a job name (Python's hash() differs between processes)."""
    return int.from_bytes(hashlib.sha256(f"framecast:{name}".encode()).digest()[:8], "big") >> 1


class _DataVersion:
    """``PRAGMA data_version`` on a connection of its own: it changes when any other connection commits.

    Opened with ``mode=rw``: watching must never create an empty database where the real one went missing
    (sqlite3.Error then, like any outage). Like every SQLite connection it keeps seeing its file after the
    file was moved away, so a watcher still reads the ledger now and then to notice an outage.
    """

    def __init__(self, database: str) -> None:
        try:
            self._conn = sqlite3.connect(
                sqlite_open_uri(database), uri=True, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise unavailable("database_down", exc) from exc

    def __call__(self) -> object:
        try:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise unavailable("database_down", exc) from exc

    def close(self) -> None:
        self._conn.close()
