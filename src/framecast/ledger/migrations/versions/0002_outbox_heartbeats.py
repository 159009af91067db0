"""Outbox of task messages, task heartbeats and message ids (for the reconciler).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OutboxId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("message_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_tasks_status", "tasks", ["status"])
    op.create_table(
        "outbox",
        sa.Column("id", OutboxId, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("task_id", "attempt", name="uq_outbox_task_attempt"),
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_index("ix_tasks_status", "tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("sent_at")
        batch.drop_column("message_id")
        batch.drop_column("heartbeat_at")
