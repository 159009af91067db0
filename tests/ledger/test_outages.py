"""The ledger's adapter edge: a database that cannot be used is ``Unavailable`` (never a driver or SQLAlchemy
error), a bug in our SQL is not, and the pool heals by itself once the database is back."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from tests.support.tcp_proxy import TcpProxy

from framecast.domain.errors import Unavailable
from framecast.domain.models import Project, new_id
from framecast.ledger import engine as engine_module
from framecast.ledger.engine import make_engine
from framecast.ledger.migrate import upgrade
from framecast.ledger.repository import SqlLedger


def _add_project(ledger: SqlLedger) -> str:
    project = Project(id=new_id("prj"), owner="local", prompt="p", options={})
    with ledger.transaction() as tx:
        tx.add_project(project)
        tx.append_event(project.id, "project_status", {"status": "queued", "terminal": False})
    return project.id


def _every_use_is_unavailable(ledger: SqlLedger, project_id: str, code: str = "database_down") -> None:
    uses = [
        ledger.ping,
        lambda: ledger.events_after(project_id, 0),
        lambda: ledger.list_completed("local", 10, None),
        lambda: _add_project(ledger),
    ]
    for use in uses:
        with pytest.raises(Unavailable) as raised:
            use()
        assert raised.value.code == code, raised.value
        assert "password" not in raised.value.message.lower()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[tuple[SqlLedger, Path]]:
    db = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    yield SqlLedger(engine), db
    engine.dispose()


def test_sqlite_file_replaced_by_a_directory_is_an_outage_then_heals(
    sqlite_ledger: tuple[SqlLedger, Path],
) -> None:
    # chmod 000 does not stop root; a directory where the file was makes every open fail (SQLITE_CANTOPEN)
    # for anyone. Pooled connections still hold the old file open: they are dropped at checkout.
    ledger, db = sqlite_ledger
    project_id = _add_project(ledger)
    aside = db.with_name("ledger.db.away")
    os.rename(db, aside)
    db.mkdir()
    try:
        _every_use_is_unavailable(ledger, project_id)
    finally:
        db.rmdir()
        os.rename(aside, db)
    ledger.ping()
    assert [e.seq for e in ledger.events_after(project_id, 0)] == [1]


def test_a_missing_sqlite_file_is_an_outage_and_no_empty_database_is_made(
    sqlite_ledger: tuple[SqlLedger, Path],
) -> None:
    ledger, db = sqlite_ledger
    project_id = _add_project(ledger)
    aside = db.with_name("ledger.db.away")
    os.rename(db, aside)
    try:
        _every_use_is_unavailable(ledger, project_id)
        assert not db.exists(), "a reconnect created an empty database beside the real one's WAL"
    finally:
        os.rename(aside, db)
    assert [e.seq for e in ledger.events_after(project_id, 0)] == [1]


def test_writes_never_go_to_a_file_that_was_replaced(sqlite_ledger: tuple[SqlLedger, Path]) -> None:
    # A restore from backup puts another file at the path: the pooled connections to the old file must not
    # keep writing into it (nobody would ever read those writes).
    ledger, db = sqlite_ledger
    first = _add_project(ledger)
    backup = db.with_name("backup.db")
    with sqlite3.connect(db) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    os.replace(backup, db)  # a new inode at the same path
    second = _add_project(ledger)
    with sqlite3.connect(db) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM projects")}
    assert {first, second} <= ids


def test_sqlite_locked_past_the_busy_timeout_is_busy_not_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_S", 0.2)
    db = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    ledger = SqlLedger(engine)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Unavailable) as raised:
            _add_project(ledger)
        assert raised.value.code == "database_busy"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _add_project(ledger)
    engine.dispose()


def test_a_bug_in_our_sql_stays_a_bug(sqlite_ledger: tuple[SqlLedger, Path]) -> None:
    ledger, _ = sqlite_ledger
    for statement in ("SELEC 1", "SELECT nope FROM projects", "SELECT * FROM no_such_table"):
        with pytest.raises(sa.exc.OperationalError), ledger.read() as tx:
            tx._conn.execute(sa.text(statement))
    with pytest.raises(sa.exc.IntegrityError), ledger.transaction() as tx:
        tx._conn.execute(sa.text("INSERT INTO projects (id) VALUES (NULL)"))


@pytest.mark.services
def test_postgres_behind_a_stopped_proxy_is_an_outage_then_the_pool_heals(postgres_url: str) -> None:
    upstream = make_url(postgres_url)
    proxy = TcpProxy(upstream.port or 5432)
    engine = make_engine(
        upstream.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )
    try:
        upgrade(engine)
        ledger = SqlLedger(engine)
        project_id = _add_project(ledger)
        proxy.stop()  # the pooled connections are cut and new ones refused
        _every_use_is_unavailable(ledger, project_id)
        proxy.start()
        ledger.ping()  # pre-ping replaces the dead pooled connections: no restart, no dispose()
        assert [e.seq for e in ledger.events_after(project_id, 0)] == [1]
        _add_project(ledger)
        with pytest.raises(sa.exc.ProgrammingError), ledger.read() as tx:
            tx._conn.execute(sa.text("SELECT * FROM no_such_table"))
    finally:
        engine.dispose()
        proxy.close()
