"""Alembic migrations run from code: one history for SQLite and Postgres."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")

log = logging.getLogger(__name__)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


MIGRATION_LOCK = 0x46_43_4D_47  # "FCMG"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; safe to call at every start).

    On Postgres an advisory lock serialises replicas and workers that start at the same moment, so only
    one of them migrates and the others find the schema current.
    """
    if engine.dialect.name != "postgresql":
        _upgrade(engine, revision)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        conn.commit()
        try:
            _upgrade(engine, revision)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            conn.commit()


def _upgrade(engine: Engine, revision: str) -> None:
    # Alembic's own INFO lines are silenced (framecast.logs.QUIET_LOGGERS: seven plugin lines and its DDL
    # mode at every start); one line here says when the schema actually changed.
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), revision)
    after = current_revision(engine)
    if after != before:
        log.info("database schema upgraded from %s to %s", before or "empty", after)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
