"""Counters for /metrics that every process bumps in the ledger: per metric (task seconds, render fps,
webhook deliveries), label (a task kind, an outcome) and histogram bucket.

Numbered 0006: 0005 is the webhook feature's (built on another branch). Whichever of the two lands second
sets this file's ``down_revision`` to the other's, so the history stays one line.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_counters",
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("le", sa.String(24), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("metric", "label", "le", name="pk_metric_counters"),
    )


def downgrade() -> None:
    op.drop_table("metric_counters")
