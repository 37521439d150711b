"""Input and output shapes of staff accounts and API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from parcours.core.auth.models import KeyKind, KeySource, Role


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: KeyKind
    name: str = Field(min_length=1, max_length=200)
    source: KeySource | None = Field(default=None, description="Write keys only: web, app, till…")


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: KeyKind
    name: str
    prefix: str
    source: KeySource | None = None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyRead):
    token: str = Field(description="The key itself. Shown once: store it now.")


class StaffUserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=10, max_length=200)
    store_ids: list[str] = Field(default_factory=list, max_length=100)


class StaffUserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    email: str
    name: str
    role: Role
    active: bool
    store_ids: list[str]
    created_at: datetime


class Me(BaseModel):
    kind: str
    id: str | None
    name: str
    role: Role | None
    key_kind: KeyKind | None
    store_ids: list[str]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)


class SessionOpened(BaseModel):
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every write")
    user_id: str
    name: str
    role: Role
    store_ids: list[str]
