"""Staff accounts, their store scopes, login sessions and API keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parcours.core.db import Base, UTCDateTime


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    MARKETER = "marketer"
    ASSOCIATE = "associate"


class KeyKind(StrEnum):
    SECRET = "secret"  # servers: reads and writes
    PUBLISHABLE = "publishable"  # browsers and apps: storefront reads only
    WRITE = "write"  # event collection from one source: can only send events


class KeySource(StrEnum):
    """Where a write key's events come from; every event it sends carries this source."""

    WEB = "web"
    APP = "app"
    TILL = "till"
    KIOSK = "kiosk"
    SERVER = "server"


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    stores: Mapped[list[StaffUserStore]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def store_ids(self) -> frozenset[str]:
        return frozenset(s.store_id for s in self.stores)


class StaffUserStore(Base):
    """The stores an associate acts for. Store ids are the stores context's; no foreign key
    crosses contexts, the CLI and API check them through the stores service."""

    __tablename__ = "staff_user_stores"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[str] = mapped_column(String(40), primary_key=True)


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[str] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so people can tell keys apart
    source: Mapped[str | None] = mapped_column(String(20), nullable=True)  # write keys only
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SignInThrottle(Base):
    """Recent failures of one throttled subject (an account, a client address, both, an email):
    in the database so every process sees them. ``key`` is a hash: no address or email kept."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
