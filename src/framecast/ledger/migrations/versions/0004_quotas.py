"""What the quotas count: a project's requested seconds, and indexes for per-owner usage.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("seconds", sa.Float, nullable=True))
    op.create_index("ix_projects_owner_created", "projects", ["owner", "created_at"])
    op.create_index("ix_assets_owner", "assets", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_assets_owner", "assets")
    op.drop_index("ix_projects_owner_created", "projects")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("seconds")
