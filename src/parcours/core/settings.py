"""One validated configuration object, read from ``PARCOURS_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development secret. Anything but ``development`` refuses to start with it.
DEVELOPMENT_SECRET_KEY = "dev-insecure-secret-key-change-me"


class EventsWithoutConsent(StrEnum):
    ANONYMISE = "anonymise"  # keep the event, strip every identifier
    DROP = "drop"  # do not keep it at all


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Everything an operator can switch; the same code runs a laptop shop and a large retailer."""

    model_config = SettingsConfigDict(env_prefix="PARCOURS_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./var/parcours.db"
    secret_key: str = DEVELOPMENT_SECRET_KEY
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str | None = None
    # The relay that hands outbox events to handlers: in the API process for a small shop,
    # in ``parcours worker`` processes at scale.
    relay_in_process: bool = True
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    session_cookie_secure: bool = True
    session_max_age_seconds: int = Field(default=12 * 3600, gt=0)
    reservation_ttl_seconds: int = Field(default=15 * 60, gt=0)
    # At or below this many units, a store shows "only n left" rather than "in stock".
    low_stock_threshold: int = Field(default=3, ge=0)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Per write key and process: events API requests per second, and the burst allowed.
    tracking_rate_per_second: float = Field(default=1000.0, gt=0)
    tracking_rate_burst: float = Field(default=2000.0, gt=0)
    # Tracked events older than this are deleted by the retention job (GDPR storage limitation).
    event_retention_days: int = Field(default=395, ge=1)
    # What happens to a person's events without analytics consent.
    events_without_consent: EventsWithoutConsent = EventsWithoutConsent.ANONYMISE
    log_level: str = "INFO"
    log_json: bool = True
    default_locale: str = "fr"
    default_currency: str = "EUR"
    sql_echo: bool = False

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Self:
        if self.environment is Environment.PRODUCTION:
            if self.secret_key == DEVELOPMENT_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "PARCOURS_SECRET_KEY must be set to a random value of at least 32 characters "
                    "outside development "
                    "(python -c 'import secrets; print(secrets.token_urlsafe())')"
                )
            if not self.session_cookie_secure:
                raise ValueError("PARCOURS_SESSION_COOKIE_SECURE cannot be false in production")
        return self

    @property
    def base_url(self) -> str:
        """Where shoppers reach this server: used in QR codes and links."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
