"""till sale request fingerprint

A till sale's Idempotency-Key remembers the request it was first used with, so the same key
sent with another sale is refused instead of answering with the first sale.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("till_sale_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("till_sale_keys", schema=None) as batch_op:
        batch_op.drop_column("request_fingerprint")
