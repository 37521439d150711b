"""kiosks and advice call limits

Kiosks get a device credential issued by the store's staff (``kiosks``: a one-time pairing code,
then a long-lived token, both stored hashed). A call for an adviser names the kiosk that made it
and a keyed hash of the caller's address, so calls are limited per device and per client.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parcours.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kiosks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("pairing_hash", sa.String(length=64), nullable=True),
        sa.Column("pairing_expires_at", parcours.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", parcours.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paired_at", parcours.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", parcours.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", parcours.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_kiosks_created_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["locations.id"],
            name=op.f("fk_kiosks_store_id_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosks")),
        sa.UniqueConstraint("pairing_hash", name=op.f("uq_kiosks_pairing_hash")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_kiosks_token_hash")),
    )
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kiosks_store_id"), ["store_id"], unique=False)
    with op.batch_alter_table("advice_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kiosk_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("client_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_advice_requests_kiosk_id"), ["kiosk_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_advice_requests_client_hash"), ["client_hash"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_advice_requests_kiosk_id_kiosks"),
            "kiosks",
            ["kiosk_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("advice_requests", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_advice_requests_kiosk_id_kiosks"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_advice_requests_client_hash"))
        batch_op.drop_index(batch_op.f("ix_advice_requests_kiosk_id"))
        batch_op.drop_column("client_hash")
        batch_op.drop_column("kiosk_id")
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kiosks_store_id"))
    op.drop_table("kiosks")
