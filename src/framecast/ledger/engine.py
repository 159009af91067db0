"""Engine construction: SQLite in WAL mode with a busy timeout and BEGIN IMMEDIATE writes, or Postgres."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

BUSY_TIMEOUT_S = 30.0


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``; for SQLite, create the directory and tune the connection.

    SQLite's default deferred transactions upgrade to a write lock mid-transaction and then fail with
    "database is locked" instead of waiting; ``BEGIN IMMEDIATE`` takes the lock up front, so concurrent
    writers queue on the busy timeout. Reads ask for a deferred transaction with
    ``execution_options(sqlite_begin="DEFERRED")``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        # Keep connections open: when the last connection to a WAL database closes, SQLite checkpoints and
        # truncates the WAL, which made every commit several times slower with a connection per checkout.
        # Processes never share a pool (workers are spawned, not forked).
        poolclass=QueuePool,
        pool_size=8,
        max_overflow=24,
        pool_timeout=60,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
