"""An in-memory ledger with the observable semantics of ``SqlLedger``.

What it reproduces (``tests/fakes/test_ledger_contract.py`` runs the same assertions on both):

* transactions commit on exit and roll back on an exception; one writer at a time (a single lock, like
  SQLite's database lock: ``project(..., lock=True)`` has nothing more to do); a transaction opened inside
  another one on the same thread raises instead of silently losing the inner one's writes;
* reads are snapshots of what was committed, and every record read is a copy (changing a returned ``Task``
  changes nothing stored, as with rows);
* every event also gets a global id in commit order, for the event feed (``events_since_id``);
* API keys and service secrets (the KeyStore port): keys listed by (created_at, id), a revoke that keeps
  the first revocation time, a secret made once and then the same for every caller;
* ``leadership`` is an advisory lock per name, as on Postgres: a second holder gets False at once;
* webhooks (``tx.webhooks``, tests/fakes/webhooks.py) are part of the transaction, and a before-commit hook
  (``set_before_commit``) sees every transaction that appended events, inside it, as SqlLedger's does;
* JSON columns go through ``json`` (tuples come back as lists, a value JSON cannot hold fails now);
* ``seq`` is assigned at append from the project's ``last_seq``, which only appends move;
* the query orders of the SQL: tasks by (position, id), assets by (created_at, id), events by seq, outbox
  rows by insertion, the gallery by (completed_at, id) descending;
* what an insert leaves out (a new project's ``last_seq`` and ``completed_at``; a new task's times and
  message id) starts empty, as the SQL inserts leave those columns unset.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from framecast.domain.errors import AlreadyExists, NotFound, Unavailable
from framecast.domain.identity import ApiKey
from framecast.domain.models import JSON, Asset, Event, OwnerUsage, Project, Task, utcnow
from framecast.domain.status import Status
from tests.fakes.webhooks import FakeWebhookStore, WebhookTables

CommitHook = Callable[[list[Event]], None]
BeforeCommitHook = Callable[["FakeLedgerSession", list[Event]], object]

_PROJECT_FIELDS = frozenset(f.name for f in dataclasses.fields(Project))
_TASK_FIELDS = frozenset(f.name for f in dataclasses.fields(Task))
_TASK_TIME_COLUMNS = frozenset({"enqueued_at", "started_at", "finished_at", "heartbeat_at", "sent_at"})
_PROJECT_JSON = ("options", "timeline", "error", "result")
_TASK_JSON = ("error", "depends_on", "params")


class IntegrityViolation(Exception):
    """Raised where the database would refuse a row (its project does not exist, under SQLite's
    ``foreign_keys=ON``, or its primary key is taken); SqlLedger lets the driver's IntegrityError through."""


def _json(value: Any) -> Any:
    """What a JSON column gives back for ``value``."""
    return None if value is None else json.loads(json.dumps(value))


@dataclass
class _OutboxRow:
    id: int
    task_id: str
    attempt: int
    created_at: datetime


@dataclass
class _State:
    projects: dict[str, Project] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)
    #: (global id, event) of every project in commit order: the events table's autoincrement id.
    feed: list[tuple[int, Event]] = field(default_factory=list)
    event_next_id: int = 1
    outbox: list[_OutboxRow] = field(default_factory=list)
    outbox_next_id: int = 1
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    #: Until when a secret is kept (the service_secrets.expires_at column); absent: for good.
    secrets_until: dict[str, datetime] = field(default_factory=dict)
    #: The page's sessions: cookie hash -> (key id, expires at).
    sessions: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    webhooks: WebhookTables = field(default_factory=WebhookTables)
    #: The metric counters: (metric, label, le) -> [count, total].
    counters: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)

    def copy(self) -> _State:
        # Events and outbox rows are never changed in place once stored, so their lists are copied and the
        # records shared; projects, tasks and assets are updated field by field, so they are deep copies.
        return _State(
            projects=copy.deepcopy(self.projects),
            tasks=copy.deepcopy(self.tasks),
            assets=copy.deepcopy(self.assets),
            events={pid: list(log) for pid, log in self.events.items()},
            feed=list(self.feed),
            event_next_id=self.event_next_id,
            outbox=[dataclasses.replace(row) for row in self.outbox],
            outbox_next_id=self.outbox_next_id,
            api_keys=copy.deepcopy(self.api_keys),
            secrets=dict(self.secrets),
            secrets_until=dict(self.secrets_until),
            sessions=dict(self.sessions),
            webhooks=self.webhooks.copy(),
            counters={key: list(value) for key, value in self.counters.items()},
        )


class FakeLedgerSession:
    """One transaction (or one snapshot read) over the fake's state; see ``services.ports.LedgerSession``."""

    def __init__(self, state: _State, *, writable: bool) -> None:
        self._state = state
        self._writable = writable
        self.appended: list[Event] = []
        #: Every ``project(..., lock=True)`` call, for tests that pin that a rule locks before it writes.
        self.locked: list[str] = []
        self._webhooks = FakeWebhookStore(
            state.webhooks, writable=writable, check_project=lambda pid: pid in state.projects
        )

    @property
    def webhooks(self) -> FakeWebhookStore:
        return self._webhooks

    def _write(self) -> _State:
        if not self._writable:
            raise RuntimeError("a write in ledger.read(); use ledger.transaction()")
        return self._state

    # -- projects ---------------------------------------------------------------------------------------

    def project(self, project_id: str, *, owner: str | None = None, lock: bool = False) -> Project:
        found = self._state.projects.get(project_id)
        if found is None or (owner is not None and found.owner != owner):
            raise NotFound(f"No project with id {project_id!r}.", code="project_not_found")
        if lock:
            self.locked.append(project_id)
        return copy.deepcopy(found)

    def project_by_idempotency_key(self, owner: str, key: str) -> Project | None:
        for project in self._state.projects.values():
            if project.owner == owner and project.idempotency_key == key:
                return copy.deepcopy(project)
        return None

    def add_project(self, project: Project) -> None:
        state = self._write()
        clash = project.id in state.projects or (
            project.idempotency_key is not None
            and any(
                p.owner == project.owner and p.idempotency_key == project.idempotency_key
                for p in state.projects.values()
            )
        )
        if clash:
            raise AlreadyExists("A project with this Idempotency-Key was created concurrently.")
        stored = copy.deepcopy(project)
        for name in _PROJECT_JSON:
            setattr(stored, name, _json(getattr(stored, name)))
        stored.options = stored.options or {}
        stored.status = Status(stored.status)
        stored.last_seq = 0  # only appends move it
        stored.completed_at = None
        stored.delivered_at = None
        stored.delivered_seq = None
        state.projects[project.id] = stored

    def update_project(self, project_id: str, **fields: Any) -> None:
        state = self._write()
        unknown = set(fields) - _PROJECT_FIELDS - {"updated_at"}
        if unknown or "id" in fields:
            raise TypeError(f"projects has no column(s) {sorted(unknown or {'id'})}")
        fields.setdefault("updated_at", utcnow())
        project = state.projects.get(project_id)
        if project is None:
            return  # an UPDATE that matches no row
        for name, value in fields.items():
            if name == "status":
                value = Status(value)
            elif name in _PROJECT_JSON:
                value = _json(value)
            setattr(project, name, value)

    def delete_project(self, project_id: str) -> None:
        # Like the SQL: the project's events, assets and tasks go; its outbox rows stay (the reconciler
        # finds their task gone and drops them).
        state = self._write()
        state.webhooks.delete_project(project_id)
        state.events.pop(project_id, None)
        state.feed = [(i, e) for i, e in state.feed if e.project_id != project_id]
        state.assets = {k: a for k, a in state.assets.items() if a.project_id != project_id}
        state.tasks = {k: t for k, t in state.tasks.items() if t.project_id != project_id}
        state.projects.pop(project_id, None)

    def existing_project_ids(self, project_ids: list[str]) -> set[str]:
        return {pid for pid in project_ids if pid in self._state.projects}

    def active_projects(self) -> list[Project]:
        return [
            copy.deepcopy(p)
            for p in self._state.projects.values()
            if p.status in (Status.QUEUED, Status.RUNNING)
        ]

    def active_count(self) -> int:
        return sum(1 for p in self._state.projects.values() if p.status in (Status.QUEUED, Status.RUNNING))

    def finished_before(self, before: datetime, limit: int) -> list[str]:
        ended = sorted(
            (p for p in self._state.projects.values() if p.status.terminal and p.updated_at < before),
            key=lambda p: p.updated_at,
        )
        return [p.id for p in ended[:limit]]

    def owner_usage(self, owner: str, since: datetime) -> OwnerUsage:
        mine = [p for p in self._state.projects.values() if p.owner == owner]
        return OwnerUsage(
            active=sum(1 for p in mine if p.status in (Status.QUEUED, Status.RUNNING)),
            storage_bytes=sum(a.size for a in self._state.assets.values() if a.owner == owner),
            recent=tuple(
                (p.created_at, float(p.seconds or 0.0))
                for p in sorted(mine, key=lambda p: p.created_at)
                if p.created_at >= since
            ),
        )

    def queue_position(self, project_id: str) -> int | None:
        me = self._state.projects.get(project_id)
        if me is None or me.status is not Status.QUEUED:
            return None
        return sum(
            1
            for p in self._state.projects.values()
            if p.status in (Status.QUEUED, Status.RUNNING) and (p.created_at, p.id) < (me.created_at, me.id)
        )

    # -- tasks ------------------------------------------------------------------------------------------

    def tasks(self, project_id: str) -> list[Task]:
        found = [t for t in self._state.tasks.values() if t.project_id == project_id]
        return [copy.deepcopy(t) for t in sorted(found, key=lambda t: (t.position, t.id))]

    def task(self, task_id: str) -> Task:
        found = self._state.tasks.get(task_id)
        if found is None:
            raise NotFound(f"No task with id {task_id!r}.", code="task_not_found")
        return copy.deepcopy(found)

    def add_tasks(self, new: list[Task]) -> None:
        state = self._write()
        for task in new:
            if task.project_id not in state.projects:
                raise IntegrityViolation(f"task {task.id} names no existing project {task.project_id}")
            if task.id in state.tasks:
                raise IntegrityViolation(f"task {task.id} exists already")
        for task in new:
            # The insert writes these columns; the rest start empty.
            state.tasks[task.id] = Task(
                id=task.id,
                project_id=task.project_id,
                kind=task.kind,
                status=Status(task.status),
                progress=task.progress,
                attempt=task.attempt,
                error=_json(task.error),
                depends_on=_json(task.depends_on) or [],
                params=_json(task.params) or {},
                position=task.position,
                enqueued_at=task.enqueued_at,
            )

    def update_task(self, task_id: str, **fields: Any) -> None:
        state = self._write()
        unknown = set(fields) - _TASK_FIELDS
        if unknown or "id" in fields:
            raise TypeError(f"tasks has no column(s) {sorted(unknown or {'id'})}")
        task = state.tasks.get(task_id)
        if task is None:
            return
        for name, value in fields.items():
            if name == "status":
                value = Status(value)
            elif name == "checkpoint":
                value = _json(value or {})  # a NULL column reads as an empty checkpoint
            elif name in _TASK_JSON:
                value = _json(value)
            setattr(task, name, value)

    def mark_enqueued(self, task_ids: list[str], at: datetime) -> None:
        state = self._write()
        for task_id in task_ids:
            if task_id in state.tasks:
                state.tasks[task_id].enqueued_at = at

    def running_tasks_of(self, worker: str) -> list[Task]:
        return [
            copy.deepcopy(t)
            for t in self._state.tasks.values()
            if t.status is Status.RUNNING and t.worker == worker
        ]

    def tasks_where(self, *, status: str, before: datetime, column: str) -> list[Task]:
        if column not in _TASK_TIME_COLUMNS:
            raise KeyError(column)  # as ``tasks.c[column]`` does
        return [
            copy.deepcopy(t)
            for t in self._state.tasks.values()
            if t.status.value == status and (getattr(t, column) is None or getattr(t, column) < before)
        ]

    def add_counter(self, metric: str, label: str, le: str, value: float) -> None:
        row = self._write().counters.setdefault((metric, label, le), [0, 0.0])
        row[0] += 1
        row[1] += value

    # -- assets -----------------------------------------------------------------------------------------

    def assets(self, project_id: str) -> list[Asset]:
        found = [a for a in self._state.assets.values() if a.project_id == project_id]
        return [copy.deepcopy(a) for a in sorted(found, key=lambda a: (a.created_at, a.id))]

    def asset(self, asset_id: str) -> Asset | None:
        found = self._state.assets.get(asset_id)
        return copy.deepcopy(found) if found is not None else None

    def add_asset(self, asset: Asset) -> bool:
        state = self._write()
        if asset.id in state.assets:
            return False
        if asset.project_id is not None and asset.project_id not in state.projects:
            raise IntegrityViolation(f"asset {asset.id} names no existing project {asset.project_id}")
        stored = copy.deepcopy(asset)
        stored.meta = _json(stored.meta) or {}
        state.assets[asset.id] = stored
        return True

    # -- events -----------------------------------------------------------------------------------------

    def append_event(self, project_id: str, type_: str, data: JSON) -> Event:
        return self.append_events(project_id, [(type_, data)])[0]

    def append_events(self, project_id: str, items: list[tuple[str, JSON]]) -> list[Event]:
        state = self._write()
        if not items:
            return []
        project = state.projects.get(project_id)
        if project is None:
            raise NotFound(f"No project with id {project_id!r}.", code="project_not_found")
        now = utcnow()
        first = project.last_seq + 1
        new = [
            Event(project_id=project_id, seq=first + i, type=type_, data=_json(data), ts=now)
            for i, (type_, data) in enumerate(items)
        ]
        project.last_seq += len(items)
        project.updated_at = now
        state.events.setdefault(project_id, []).extend(new)
        for event in new:
            state.feed.append((state.event_next_id, event))
            state.event_next_id += 1
        self.appended.extend(new)
        return new

    # -- outbox -----------------------------------------------------------------------------------------

    def add_outbox(self, entries: list[tuple[str, int]]) -> None:
        state = self._write()
        now = utcnow()
        existing = {(row.task_id, row.attempt) for row in state.outbox}
        for task_id, attempt in entries:
            if (task_id, attempt) in existing:
                continue
            existing.add((task_id, attempt))
            state.outbox.append(_OutboxRow(state.outbox_next_id, task_id, attempt, now))
            state.outbox_next_id += 1

    def outbox_due(self, before: datetime) -> list[tuple[str, int]]:
        return [(row.task_id, row.attempt) for row in self._state.outbox if row.created_at < before]

    def delete_outbox(self, task_id: str, attempt: int) -> None:
        state = self._write()
        state.outbox = [r for r in state.outbox if (r.task_id, r.attempt) != (task_id, attempt)]


class FakeChangeProbe:
    """Changes whenever a transaction commits (SQLite's ``PRAGMA data_version`` does for other connections;
    here every writer is "another connection")."""

    def __init__(self, ledger: FakeLedger) -> None:
        self._ledger = ledger
        self.closed = False

    def __call__(self) -> object:
        return self._ledger.commits

    def close(self) -> None:
        self.closed = True


class FakeLedger:
    """The ledger in memory. ``on_commit`` gets the events each committed transaction appended (wire it
    to ``FakeEventHub.publish`` as the app wires SqlLedger's commit hook to its hub).

    Test controls: ``down = True`` makes ``ping`` raise ``Unavailable`` (``database_down``) as SqlLedger's
    does for an unreachable database; ``commits`` counts committed write transactions; ``outbox_rows()``
    and ``set_outbox_created_at()`` look at and age the outbox; ``set_task()`` changes a task behind the
    rules' back.

    >>> ledger = FakeLedger()
    >>> with ledger.transaction() as tx:
    ...     tx.add_project(Project(id="prj_1", owner="local", prompt="p", options={}))
    ...     tx.append_event("prj_1", "task_status", {}).seq
    1
    """

    def __init__(self, *, on_commit: CommitHook | None = None) -> None:
        self._state = _State()
        self._lock = threading.RLock()
        self._writer: int | None = None
        self._on_commit = on_commit
        self._before_commit: BeforeCommitHook | None = None
        self._leaders: set[str] = set()
        self.down = False
        self.commits = 0

    def set_commit_hook(self, hook: CommitHook | None) -> None:
        self._on_commit = hook

    def set_before_commit(self, hook: BeforeCommitHook | None) -> None:
        self._before_commit = hook

    @contextmanager
    def transaction(self) -> Iterator[FakeLedgerSession]:
        if self._writer == threading.get_ident():
            # SqlLedger would wait for its own write lock (SQLite) or row lock (Postgres) until a timeout.
            raise RuntimeError("a ledger transaction was opened inside another one on the same thread")
        with self._lock:
            self._writer = threading.get_ident()
            try:
                working = self._state.copy()
                session = FakeLedgerSession(working, writable=True)
                yield session  # an exception here leaves self._state as it was: the rollback
                if self._before_commit is not None and session.appended:
                    self._before_commit(session, list(session.appended))
                self._state = working
                self.commits += 1
            finally:
                self._writer = None
        if self._on_commit and session.appended:
            self._on_commit(list(session.appended))

    @contextmanager
    def read(self) -> Iterator[FakeLedgerSession]:
        with self._lock:
            snapshot = self._state.copy()
        yield FakeLedgerSession(snapshot, writable=False)

    def events_after(self, project_id: str, after: int, limit: int = 1000) -> list[Event]:
        with self._lock:
            log = list(self._state.events.get(project_id, ()))
        return [copy.deepcopy(e) for e in log if e.seq > after][:limit]

    def mark_sent(self, sent: list[tuple[str, int, str]]) -> None:
        if not sent:
            return
        now = utcnow()
        with self.transaction() as tx:
            for task_id, attempt, message_id in sent:
                tx.delete_outbox(task_id, attempt)
                task = tx._state.tasks.get(task_id)
                if task is not None and task.attempt == attempt:
                    task.message_id = message_id
                    task.sent_at = now

    def heartbeat(self, task_id: str, attempt: int) -> None:
        with self.transaction() as tx:
            task = tx._state.tasks.get(task_id)
            if task is not None and task.attempt == attempt:
                task.heartbeat_at = utcnow()

    def list_completed(
        self, owner: str | None, limit: int, before: tuple[datetime, str] | None
    ) -> list[Project]:
        with self._lock:
            found = [
                p
                for p in self._state.projects.values()
                if (owner is None or p.owner == owner) and p.status is Status.COMPLETED
            ]
        if before is not None:
            ts, pid = before
            # NULL compares false in SQL: a project without completed_at never follows a cursor.
            found = [p for p in found if p.completed_at is not None and (p.completed_at, p.id) < (ts, pid)]
        with_time = sorted(
            (p for p in found if p.completed_at is not None),
            key=lambda p: (p.completed_at, p.id),
            reverse=True,
        )
        without = sorted((p for p in found if p.completed_at is None), key=lambda p: p.id, reverse=True)
        return [copy.deepcopy(p) for p in [*with_time, *without][:limit]]

    @contextmanager
    def leadership(self, name: str) -> Iterator[bool]:
        with self._lock:
            got = name not in self._leaders
            self._leaders.add(name)
        try:
            yield got
        finally:
            if got:
                with self._lock:
                    self._leaders.discard(name)

    # -- keys and service secrets (KeyStore) ------------------------------------------------------------

    def add_api_key(self, key: ApiKey) -> None:
        with self.transaction() as tx:
            if key.id in tx._state.api_keys:
                raise IntegrityViolation(f"api key {key.id} exists already")
            tx._state.api_keys[key.id] = copy.deepcopy(key)

    def api_key(self, key_id: str) -> ApiKey | None:
        with self._lock:
            found = self._state.api_keys.get(key_id)
            return copy.deepcopy(found) if found is not None else None

    def api_keys(self) -> list[ApiKey]:
        with self._lock:
            keys = sorted(self._state.api_keys.values(), key=lambda k: (k.created_at, k.id))
            return copy.deepcopy(keys)

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        with self.transaction() as tx:
            key = tx._state.api_keys.get(key_id)
            if key is not None and key.revoked_at is None:
                key.revoked_at = at
            for token_hash, (owner_key, _) in list(tx._state.sessions.items()):
                if owner_key == key_id:
                    del tx._state.sessions[token_hash]

    def add_session(self, token_hash: str, key_id: str, created_at: datetime, expires_at: datetime) -> None:
        with self.transaction() as tx:
            for old, (_, expires) in list(tx._state.sessions.items()):
                if expires <= created_at:
                    del tx._state.sessions[old]
            if token_hash in tx._state.sessions:
                raise IntegrityViolation("session exists already")
            tx._state.sessions[token_hash] = (key_id, expires_at)

    def session_key_id(self, token_hash: str, now: datetime) -> str | None:
        with self._lock:
            found = self._state.sessions.get(token_hash)
        return found[0] if found is not None and found[1] > now else None

    def end_session(self, token_hash: str) -> None:
        with self.transaction() as tx:
            tx._state.sessions.pop(token_hash, None)

    def service_secret(self, name: str, make: Callable[[], str]) -> str:
        with self.transaction() as tx:
            if name not in tx._state.secrets:
                tx._state.secrets[name] = make()  # the first writer's value is everyone's
            return tx._state.secrets[name]

    def kept_service_secret(self, name: str) -> tuple[str, datetime | None] | None:
        with self._lock:
            if name not in self._state.secrets:
                return None
            return self._state.secrets[name], self._state.secrets_until.get(name)

    def rotate_service_secret(
        self, name: str, value: str, *, previous_name: str, previous_until: datetime | None
    ) -> None:
        with self.transaction() as tx:
            state = tx._state
            current = state.secrets.pop(name, None)
            state.secrets_until.pop(name, None)
            state.secrets.pop(previous_name, None)
            state.secrets_until.pop(previous_name, None)
            if current is not None and previous_until is not None:
                state.secrets[previous_name] = current
                state.secrets_until[previous_name] = previous_until
            state.secrets[name] = value

    # -- the event feed (EventFeed) ---------------------------------------------------------------------

    def max_event_id(self) -> int:
        with self._lock:
            return self._state.feed[-1][0] if self._state.feed else 0

    def events_since_id(self, last_id: int, limit: int = 5000) -> tuple[int, list[Event]]:
        with self._lock:
            rows = [(i, e) for i, e in self._state.feed if i > last_id][:limit]
        if not rows:
            return last_id, []
        return rows[-1][0], [copy.deepcopy(e) for _, e in rows]

    def change_probe(self) -> FakeChangeProbe:
        return FakeChangeProbe(self)

    def ping(self) -> None:
        if self.down:
            raise Unavailable("The database is not reachable: FakeLedger.down", code="database_down")

    # -- for tests --------------------------------------------------------------------------------------

    def outbox_rows(self) -> list[tuple[str, int]]:
        """Every outbox row, oldest first (due or not)."""
        with self._lock:
            return [(row.task_id, row.attempt) for row in self._state.outbox]

    def set_outbox_created_at(self, at: datetime) -> None:
        """Age (or rejuvenate) every outbox row, so a test need not wait out a grace period."""
        with self._lock:
            for row in self._state.outbox:
                row.created_at = at

    def set_task(self, task_id: str, **fields: Any) -> None:
        """Change a stored task behind every rule's back (a heartbeat from long ago, a lost message)."""
        with self.transaction() as tx:
            tx.update_task(task_id, **fields)
