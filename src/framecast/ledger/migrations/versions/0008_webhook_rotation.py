"""Secret rotation for webhooks: an endpoint keeps the secret a rotation replaced (it signs beside the new
one until ``previous_secret_until``), and a service secret may be kept only until ``expires_at`` (the
ledger-kept webhook secret that ``framecast webhooks rotate-secret`` replaced).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("previous_secret", sa.Text, nullable=True))
        batch.add_column(sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("service_secrets") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_secrets") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("previous_secret_until")
        batch.drop_column("previous_secret")
