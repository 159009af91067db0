"""Alembic environment: uses the engine handed over in ``config.attributes`` (see ledger/migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from framecast.ledger.tables import metadata

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
