"""A task's checkpoint: what an attempt recorded for the next one (a provider's job id, a seed), as JSON.

Numbered 0007 after 0006; a merger that lands another 0007 first re-chains this one after it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("checkpoint", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("checkpoint")
