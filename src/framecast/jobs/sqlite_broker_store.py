"""The SQL side of the embedded Dramatiq broker: tables, atomic claims, acks, heartbeats.

Only the stdlib ``sqlite3`` module is used, on tables prefixed ``dramatiq_``, so the broker can share one
WAL-mode file with the ledger (which reaches the same file through SQLAlchemy). Every write runs in a
``BEGIN IMMEDIATE`` transaction: SQLite then holds the single writer lock for the whole read-modify-write,
which is what makes a claim atomic across threads and processes. ``busy_timeout`` lets the two writers queue
behind each other instead of failing.

Tables:

    dramatiq_messages      one row per enqueued message; ``worker_id`` is NULL while it waits and holds the
                           claiming worker's id until the message is acked, nacked or requeued
    dramatiq_dead_letters  nacked messages, keyed by their ``xq_name`` queue, purged after a TTL
    dramatiq_workers       one row per live consumer process with its last heartbeat
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS dramatiq_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        namespace TEXT NOT NULL,
        queue_name TEXT NOT NULL,
        message_id TEXT NOT NULL,
        eta_ms INTEGER NOT NULL DEFAULT 0,
        enqueued_ms INTEGER NOT NULL,
        worker_id TEXT,
        claimed_ms INTEGER,
        data BLOB NOT NULL
    )
    """,
    # Serves the claim query: equality on (namespace, queue_name, worker_id IS NULL), then FIFO order.
    """
    CREATE INDEX IF NOT EXISTS dramatiq_messages_ready
        ON dramatiq_messages (namespace, queue_name, worker_id, eta_ms, id)
    """,
    "CREATE INDEX IF NOT EXISTS dramatiq_messages_worker ON dramatiq_messages (worker_id)",
    "CREATE INDEX IF NOT EXISTS dramatiq_messages_message_id ON dramatiq_messages (message_id)",
    """
    CREATE TABLE IF NOT EXISTS dramatiq_dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        namespace TEXT NOT NULL,
        queue_name TEXT NOT NULL,
        message_id TEXT NOT NULL,
        failed_ms INTEGER NOT NULL,
        data BLOB NOT NULL
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS dramatiq_dead_letters_queue
        ON dramatiq_dead_letters (namespace, queue_name, failed_ms)
    """,
    """
    CREATE TABLE IF NOT EXISTS dramatiq_workers (
        worker_id TEXT PRIMARY KEY,
        namespace TEXT NOT NULL,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        heartbeat_ms INTEGER NOT NULL
    )
    """,
)


def now_ms() -> int:
    """Wall-clock milliseconds: heartbeats are compared across processes, so a monotonic clock will not do."""
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """A message row a worker now holds: ``row_id`` is what ack/nack/requeue name it by."""

    row_id: int
    eta_ms: int
    data: bytes


class _Connections:
    """One sqlite3 connection per thread, and per process: a forked child never touches its parent's."""

    def __init__(self, path: str, busy_timeout_s: float) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._generation = 0
        self._open: list[tuple[int, threading.Thread, sqlite3.Connection]] = []

    def get(self) -> sqlite3.Connection:
        key = (os.getpid(), self._generation)
        if getattr(self._local, "key", None) == key:
            conn: sqlite3.Connection = self._local.conn
            return conn
        # check_same_thread=False only so close_all() may close connections of finished threads.
        conn = sqlite3.connect(
            self._path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        # As the ledger does: in WAL mode NORMAL survives a process crash; only an OS crash may lose the
        # last commits, and it saves an fsync on every claim, ack and heartbeat.
        conn.execute("PRAGMA synchronous = NORMAL")
        with self._lock:
            self._prune_locked()
            self._open.append((os.getpid(), threading.current_thread(), conn))
        self._local.key = key
        self._local.conn = conn
        return conn

    def _prune_locked(self) -> None:
        keep = []
        for pid, thread, conn in self._open:
            if pid != os.getpid():
                continue  # inherited over fork: the parent still owns it, closing it here could harm it
            if thread.is_alive():
                keep.append((pid, thread, conn))
            else:
                conn.close()
        self._open = keep

    def close_all(self) -> None:
        with self._lock:
            self._generation += 1
            for pid, _thread, conn in self._open:
                if pid == os.getpid():
                    conn.close()
            self._open = []


class SQLiteQueueStore:
    """All SQL the broker runs, one method per operation. Thread-safe; safe across processes.

    ``local_writes`` counts commits made through this store: ``PRAGMA data_version`` only reports commits by
    *other* connections, so pollers combine the two to notice every change cheaply.
    """

    def __init__(self, path: str | Path, namespace: str, *, busy_timeout_s: float = 10.0) -> None:
        self.path = str(path)
        self.namespace = namespace
        self.local_writes = 0
        self._connections = _Connections(self.path, busy_timeout_s)
        self._init_schema()

    def _init_schema(self) -> None:
        conn = self._connections.get()
        # WAL is a property of the file: a no-op when the ledger already switched it.
        conn.execute("PRAGMA journal_mode = WAL")
        with self._write() as c:
            for statement in _SCHEMA:
                c.execute(statement)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connections.get()
        changes = conn.total_changes
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        # Only real changes count: an empty claim bumping the counter would wake every other local poller,
        # whose empty claims would wake this one again.
        if conn.total_changes != changes:
            self.local_writes += 1

    def close(self) -> None:
        self._connections.close_all()

    # -- producers --------------------------------------------------------------------------------------

    def enqueue(self, queue_name: str, message_id: str, data: bytes, eta_ms: int = 0) -> int:
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO dramatiq_messages (namespace, queue_name, message_id, eta_ms, enqueued_ms, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (self.namespace, queue_name, message_id, eta_ms, now_ms(), data),
            )
            row_id = cur.lastrowid
        assert row_id is not None
        return row_id

    # -- consumers --------------------------------------------------------------------------------------

    def has_waiting(self, queue_name: str) -> bool:
        """A read-only look before claiming, so idle pollers never take the write lock the ledger needs."""
        row = (
            self._connections.get()
            .execute(
                "SELECT 1 FROM dramatiq_messages WHERE namespace = ? AND queue_name = ? AND worker_id IS NULL"
                " LIMIT 1",
                (self.namespace, queue_name),
            )
            .fetchone()
        )
        return row is not None

    def claim(self, queue_name: str, worker_id: str, limit: int) -> list[ClaimedRow]:
        """Hand up to ``limit`` waiting messages of a queue to ``worker_id``, oldest (eta, then id) first."""
        if limit <= 0:
            return []
        with self._write() as c:
            rows = c.execute(
                "UPDATE dramatiq_messages SET worker_id = ?, claimed_ms = ?"
                " WHERE id IN (SELECT id FROM dramatiq_messages"
                "   WHERE namespace = ? AND queue_name = ? AND worker_id IS NULL"
                "   ORDER BY eta_ms, id LIMIT ?)"
                " RETURNING id, eta_ms, data",
                (worker_id, now_ms(), self.namespace, queue_name, limit),
            ).fetchall()
        # RETURNING gives no order guarantee.
        return sorted((ClaimedRow(r[0], r[1], bytes(r[2])) for r in rows), key=lambda r: (r.eta_ms, r.row_id))

    def ack(self, row_id: int, worker_id: str) -> bool:
        """Delete a finished message. False when this worker no longer holds it (it was redelivered)."""
        with self._write() as c:
            cur = c.execute(
                "DELETE FROM dramatiq_messages WHERE id = ? AND worker_id = ?", (row_id, worker_id)
            )
        return cur.rowcount > 0

    def nack(self, row_id: int, worker_id: str, dead_queue_name: str) -> bool:
        """Move a held message to the dead letters of ``dead_queue_name``."""
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO dramatiq_dead_letters (namespace, queue_name, message_id, failed_ms, data)"
                " SELECT namespace, ?, message_id, ?, data FROM dramatiq_messages"
                " WHERE id = ? AND worker_id = ?",
                (dead_queue_name, now_ms(), row_id, worker_id),
            )
            if cur.rowcount:
                c.execute("DELETE FROM dramatiq_messages WHERE id = ?", (row_id,))
        return cur.rowcount > 0

    def requeue(self, row_ids: Iterable[int], worker_id: str) -> int:
        """Give held messages back to their queue; they keep their place (their id) in FIFO order."""
        ids = list(row_ids)
        if not ids:
            return 0
        with self._write() as c:
            cur = c.executemany(
                "UPDATE dramatiq_messages SET worker_id = NULL, claimed_ms = NULL"
                " WHERE id = ? AND worker_id = ?",
                [(row_id, worker_id) for row_id in ids],
            )
        return cur.rowcount

    # -- workers ----------------------------------------------------------------------------------------

    def heartbeat(self, worker_id: str, hostname: str) -> None:
        ts = now_ms()
        with self._write() as c:
            c.execute(
                "INSERT INTO dramatiq_workers (worker_id, namespace, hostname, pid, started_ms, heartbeat_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (worker_id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
                (worker_id, self.namespace, hostname, os.getpid(), ts, ts),
            )

    def requeue_dead(self, heartbeat_timeout_ms: int, dead_message_ttl_ms: int) -> int:
        """Requeue messages held by workers without a recent heartbeat; forget those workers; purge old
        dead letters. Returns how many messages went back to their queues."""
        ts = now_ms()
        cutoff = ts - heartbeat_timeout_ms
        with self._write() as c:
            c.execute(
                "DELETE FROM dramatiq_workers WHERE namespace = ? AND heartbeat_ms < ?",
                (self.namespace, cutoff),
            )
            # A holder with no worker row at all (reaped above, or removed on close) counts as dead too.
            cur = c.execute(
                "UPDATE dramatiq_messages SET worker_id = NULL, claimed_ms = NULL"
                " WHERE namespace = ? AND worker_id IS NOT NULL"
                " AND worker_id NOT IN (SELECT worker_id FROM dramatiq_workers WHERE namespace = ?)",
                (self.namespace, self.namespace),
            )
            requeued = cur.rowcount
            c.execute(
                "DELETE FROM dramatiq_dead_letters WHERE namespace = ? AND failed_ms < ?",
                (self.namespace, ts - dead_message_ttl_ms),
            )
        return requeued

    def remove_worker(self, worker_id: str) -> int:
        """Unregister a worker that shuts down cleanly, giving back whatever it still holds."""
        with self._write() as c:
            cur = c.execute(
                "UPDATE dramatiq_messages SET worker_id = NULL, claimed_ms = NULL WHERE worker_id = ?",
                (worker_id,),
            )
            c.execute("DELETE FROM dramatiq_workers WHERE worker_id = ?", (worker_id,))
        return cur.rowcount

    # -- inspection -------------------------------------------------------------------------------------

    def change_token(self) -> tuple[int, int]:
        """Changes whenever anyone commits to the file; a cheap idle check (no table is read)."""
        row = self._connections.get().execute("PRAGMA data_version").fetchone()
        return int(row[0]), self.local_writes

    def count(self, queue_names: Sequence[str], *, waiting_only: bool = False) -> int:
        marks = ", ".join("?" for _ in queue_names)
        sql = f"SELECT count(*) FROM dramatiq_messages WHERE namespace = ? AND queue_name IN ({marks})"
        if waiting_only:
            sql += " AND worker_id IS NULL"
        row = self._connections.get().execute(sql, (self.namespace, *queue_names)).fetchone()
        return int(row[0])

    def position(self, message_id: str) -> int | None:
        """How many waiting messages are ahead of this one on its queue; None unless it is waiting."""
        conn = self._connections.get()
        row = conn.execute(
            "SELECT queue_name, eta_ms, id FROM dramatiq_messages"
            " WHERE namespace = ? AND message_id = ? AND worker_id IS NULL ORDER BY id LIMIT 1",
            (self.namespace, message_id),
        ).fetchone()
        if row is None:
            return None
        queue_name, eta_ms, row_id = row
        ahead = conn.execute(
            "SELECT count(*) FROM dramatiq_messages WHERE namespace = ? AND queue_name = ?"
            " AND worker_id IS NULL AND (eta_ms < ? OR (eta_ms = ? AND id < ?))",
            (self.namespace, queue_name, eta_ms, eta_ms, row_id),
        ).fetchone()
        return int(ahead[0])

    def message_exists(self, message_id: str) -> bool:
        """True while the message waits or is being worked on (not yet acked or dead-lettered)."""
        row = (
            self._connections.get()
            .execute(
                "SELECT 1 FROM dramatiq_messages WHERE namespace = ? AND message_id = ? LIMIT 1",
                (self.namespace, message_id),
            )
            .fetchone()
        )
        return row is not None

    def dead_letters(self, dead_queue_name: str) -> list[bytes]:
        rows = (
            self._connections.get()
            .execute(
                "SELECT data FROM dramatiq_dead_letters WHERE namespace = ? AND queue_name = ? ORDER BY id",
                (self.namespace, dead_queue_name),
            )
            .fetchall()
        )
        return [bytes(r[0]) for r in rows]

    def dead_letter_count(self) -> int:
        """Dead letters of every queue of this namespace."""
        row = (
            self._connections.get()
            .execute("SELECT count(*) FROM dramatiq_dead_letters WHERE namespace = ?", (self.namespace,))
            .fetchone()
        )
        return int(row[0])

    def workers(self) -> list[tuple[str, int]]:
        """(worker_id, heartbeat_ms) of every registered worker."""
        rows = (
            self._connections.get()
            .execute(
                "SELECT worker_id, heartbeat_ms FROM dramatiq_workers WHERE namespace = ? ORDER BY worker_id",
                (self.namespace,),
            )
            .fetchall()
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    def flush(self, queue_names: Sequence[str], dead_queue_names: Sequence[str]) -> None:
        with self._write() as c:
            for name in queue_names:
                c.execute(
                    "DELETE FROM dramatiq_messages WHERE namespace = ? AND queue_name = ?",
                    (self.namespace, name),
                )
            for name in dead_queue_names:
                c.execute(
                    "DELETE FROM dramatiq_dead_letters WHERE namespace = ? AND queue_name = ?",
                    (self.namespace, name),
                )

    def ping(self) -> None:
        conn = self._connections.get()
        conn.execute("SELECT count(*) FROM dramatiq_workers WHERE 0").fetchone()
