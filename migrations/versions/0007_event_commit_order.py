"""event commit order

Events carry the order of their commit (``xact``: the transaction id on PostgreSQL, a counter
on SQLite), so the journey lake's compaction follows commits instead of ids and a batch that
commits late is never passed over. Events stored before this revision get 0: they come first,
in id order, as the lake's position (an id) expects.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_commit_sequence",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tracking_commit_sequence")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("xact", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("xact", server_default=None)
        batch_op.create_index("ix_events_xact_id", ["xact", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_xact_id")
        batch_op.drop_column("xact")
    op.drop_table("tracking_commit_sequence")
