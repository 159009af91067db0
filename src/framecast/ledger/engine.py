"""Engine construction, and the adapter edge for outages.

SQLite runs in WAL mode with a busy timeout and BEGIN IMMEDIATE writes; Postgres with pre-ping and a connect
timeout. Either way a driver error that means "the database cannot be used right now" leaves the engine as
the domain's ``Unavailable`` (``database_down`` or ``database_busy``), so services and the web layer never
see SQLAlchemy or driver exceptions, and the pool drops the connections that met the outage so the service
heals by itself once the database is back.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.request import pathname2url

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect, ExceptionContext, make_url
from sqlalchemy.pool import QueuePool

from framecast.domain.errors import Unavailable

BUSY_TIMEOUT_S = 30.0
#: Postgres: how long opening a connection may take before the database counts as down. Without it a
#: connect to an unreachable host waits for the kernel's TCP timeout (minutes), and every request with it.
CONNECT_TIMEOUT_S = 5

# What is an outage and what is a bug. An outage is the code being right and the environment not: the
# database cannot be reached, opened, read or written, is locked past the busy timeout, is out of disk, or
# its file is damaged or was moved away. Those are 503 with Retry-After: retrying later is the right thing to
# do, and the same request succeeds once an operator (or time) fixes the environment. A bug is our SQL or
# schema being wrong (syntax, no such table or column, a constraint we did not expect, API misuse): those
# stay SQLAlchemy errors and surface as 500 ``internal_error``, logged with a traceback, so they get fixed
# instead of being retried forever.
#
# SQLite raises OperationalError for both kinds ("unable to open database file" and "near SELECT: syntax
# error" alike), so it is told apart by its primary result code.
_SQLITE_DOWN = frozenset(
    {
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,  # includes READONLY_DBMOVED: the file was renamed or deleted under us
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
    }
)
_SQLITE_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})  # only past BUSY_TIMEOUT_S
# Postgres SQLSTATEs among OperationalError that mean "busy, try again" rather than "down": serialization
# failure and deadlock (class 40), lock not available, query cancelled (statement timeout), too many
# connections. They are not bugs either; a retry after a moment succeeds.
_PG_BUSY_PREFIXES = ("40", "55P03", "57014", "53300")


def outage_code(dialect: Dialect, error: BaseException) -> str | None:
    """``database_down`` or ``database_busy`` when the DBAPI ``error`` is an outage, None for a bug."""
    if dialect.name == "sqlite":
        code = getattr(error, "sqlite_errorcode", None)
        if not isinstance(code, int):
            return None
        primary = code & 0xFF
        if primary in _SQLITE_BUSY:
            return "database_busy"
        return "database_down" if primary in _SQLITE_DOWN else None
    dbapi = dialect.loaded_dbapi
    # OperationalError: the server went away, refused the connection, shut down, ran out of disk or hit a
    # timeout. InterfaceError: the connection object itself is closed or broken. Both are the database's
    # state, not our SQL (ProgrammingError, IntegrityError and DataError are).
    if not isinstance(error, (dbapi.OperationalError, dbapi.InterfaceError)):
        return None
    sqlstate = str(getattr(error, "sqlstate", None) or getattr(error, "pgcode", None) or "")
    return "database_busy" if sqlstate.startswith(_PG_BUSY_PREFIXES) else "database_down"


def unavailable(code: str, error: BaseException) -> Unavailable:
    """The domain error for an outage; the driver's text (which may name hosts and users) stays in the log
    via ``__cause__``, the person reads a sentence."""
    if code == "database_busy":
        message = f"The database is busy ({error.__class__.__name__}); try again in a few seconds."
    else:
        message = f"The database cannot be used right now ({error.__class__.__name__}); try again shortly."
    return Unavailable(message, code=code)


@contextmanager
def pool_outages() -> Iterator[None]:
    """Translate the pool's own errors (not the driver's, which ``handle_error`` sees) into Unavailable."""
    try:
        yield
    except sa_exc.TimeoutError as exc:  # every connection checked out for pool_timeout seconds
        raise unavailable("database_busy", exc) from exc
    except sa_exc.DisconnectionError as exc:  # reconnect attempts on checkout exhausted
        raise unavailable("database_down", exc) from exc


def _install_outage_translation(engine: Engine) -> None:
    @event.listens_for(engine, "handle_error")
    def _translate(ctx: ExceptionContext) -> None:
        if ctx.is_pre_ping:
            # A failed pre-ping must stay a disconnect: the pool then opens a fresh connection, and only
            # when that fails too does the checkout raise (and come back here as a connect error).
            return
        code = outage_code(ctx.dialect, ctx.original_exception)
        if code is None:
            return
        if code == "database_down":
            # Drop the pool's connections (Postgres marks most of these itself; SQLite never does): one
            # that met an I/O error or a moved file must not serve the next request.
            ctx.is_disconnect = True
        raise unavailable(code, ctx.original_exception)


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``; for SQLite, create the directory and tune the connection.

    SQLite's default deferred transactions upgrade to a write lock mid-transaction and then fail with
    "database is locked" instead of waiting; ``BEGIN IMMEDIATE`` takes the lock up front, so concurrent
    writers queue on the busy timeout. Reads ask for a deferred transaction with
    ``execution_options(sqlite_begin="DEFERRED")``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
        )
        _install_outage_translation(engine)
        return engine

    database = parsed.database if parsed.database and parsed.database != ":memory:" else None
    if database is not None:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
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
    _install_outage_translation(engine)

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

    if database is not None and "uri" not in parsed.query:
        _guard_the_file(engine, database)  # after _on_connect: the file exists once its pragmas ran
    return engine


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None when there is no regular file there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def sqlite_open_uri(path: str) -> str:
    """A URI that opens the existing database at ``path`` and fails (SQLITE_CANTOPEN) when it is missing."""
    return f"file:{pathname2url(os.path.abspath(path))}?mode=rw"


def _guard_the_file(engine: Engine, path: str) -> None:
    """Keep a SQLite engine on the file at ``path``, and on nothing else.

    An open SQLite connection keeps working on its file after the file is renamed, deleted or replaced
    (a restore from backup, a volume swapped under the service): every later write would go to a file
    nobody will read again, and ``/readyz`` would say all is well. So a pooled connection is checked out
    only while the file at ``path`` is still the one it opened (one ``stat``, about a microsecond);
    otherwise the pool discards it and reconnects, which fails while the file is missing.

    Once the file exists, connections open it with ``mode=rw``: a missing file is an outage
    (SQLITE_CANTOPEN), not a reason to create an empty database beside the real one's WAL.
    """
    created = os.path.isfile(path)

    @event.listens_for(engine, "do_connect")
    def _open_existing(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if created or os.path.isfile(path):
            cargs[0] = sqlite_open_uri(path)
            cparams["uri"] = True

    @event.listens_for(engine, "connect")
    def _remember_file(_dbapi_conn: Any, record: Any) -> None:
        nonlocal created
        record.info["file_identity"] = identity = file_identity(path)
        created = created or identity is not None

    @event.listens_for(engine, "checkout")
    def _same_file(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        expected = record.info.get("file_identity")
        if expected is None or file_identity(path) != expected:
            raise sa_exc.DisconnectionError("the database file was moved, replaced or removed")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
