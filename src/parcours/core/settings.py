"""One validated configuration object, read from ``PARCOURS_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
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
    # Live updates (cart sync across devices) between processes: Redis pub/sub at this URL,
    # e.g. redis://127.0.0.1:6379/0. Without it, updates reach streams of this process only.
    redis_url: str | None = None
    session_cookie_secure: bool = True
    session_max_age_seconds: int = Field(default=12 * 3600, gt=0)
    reservation_ttl_seconds: int = Field(default=15 * 60, gt=0)
    # How two carts become one when a shopper signs in: merge, keep_guest or keep_existing.
    cart_merge_strategy: Literal["merge", "keep_guest", "keep_existing"] = "merge"
    # Reserve in store, pay there: how long the store holds the items for the shopper.
    store_hold_hours: int = Field(default=48, gt=0)
    # Which location ships a delivery: warehouse_first or nearest_store_first (ship from store).
    delivery_sourcing: Literal["warehouse_first", "nearest_store_first"] = "warehouse_first"
    # At or below this many units, a store shows "only n left" rather than "in stock".
    low_stock_threshold: int = Field(default=3, ge=0)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Journey analytics: the Parquet lake the events are compacted into (DuckDB reads it with the
    # events not compacted yet), how often the compaction runs, and an optional JSON file that
    # overrides the event → journey stage mapping (docs/journeys.md).
    lake_dir: Path = Path("var/lake")
    journeys_compact_seconds: float = Field(default=60.0, gt=0)
    journeys_stage_map: Path | None = None
    # Per write key and process: events API requests per second, and the burst allowed.
    tracking_rate_per_second: float = Field(default=1000.0, gt=0)
    tracking_rate_burst: float = Field(default=2000.0, gt=0)
    # Tracked events older than this are deleted by the retention job (GDPR storage limitation).
    event_retention_days: int = Field(default=395, ge=1)
    # What happens to a person's events without analytics consent.
    events_without_consent: EventsWithoutConsent = EventsWithoutConsent.ANONYMISE
    # Card payments: "test" simulates a processor with Stripe's test card numbers (never in
    # production); "stripe" needs the API key, and the webhook signing secret for webhooks.
    payment_provider: Literal["test", "stripe"] = "test"
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None  # another API address (a local stub in tests)
    # Where Stripe sends the shopper back after 3-D Secure; unset: Stripe.js completes it.
    stripe_return_url: str | None = None
    log_level: str = "INFO"
    log_json: bool = True
    default_locale: str = "fr"
    default_currency: str = "EUR"
    sql_echo: bool = False
    # Connections each process keeps to the database, and how many more it may open under load.
    # The sum rule: processes × (pool + overflow) + what else connects (migrations, psql, the
    # tests) stays under PostgreSQL's max_connections (100 by default). Unset: 10 + 5 on
    # PostgreSQL (six processes fit), 40 + 10 on SQLite (no server to exhaust; one per thread).
    database_pool_size: int | None = Field(default=None, ge=1, le=500)
    database_max_overflow: int | None = Field(default=None, ge=0, le=500)
    # How long a request waits for a free connection before it is answered 503 (Retry-After).
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Email (notifications). Without an SMTP URL, messages go to the development mailbox (the
    # messages table) outside production, and stay queued in production.
    shop_name: str = Field(default="Parcours", min_length=1, max_length=100)
    smtp_url: SecretStr | None = None  # smtp://user:pass@host:587 or smtps://user:pass@host:465
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mail_from: str = "Parcours <ne-pas-repondre@parcours.local>"
    # Addresses and bodies of messages older than this are cleared (GDPR storage limitation).
    message_retention_days: int = Field(default=90, ge=1)
    # The storefront's pages send page views with this web write key (``parcours keys create
    # --kind write --source web``); empty: the pages send no events at all.
    web_write_key: str = ""
    # Web push (VAPID, RFC 8292): the server's key pair, base64url (private: the 32-byte scalar;
    # public: the 65-byte uncompressed point), and the contact the push services may write to.
    # Unset in development: a pair is generated once under var/; in production push stays off.
    vapid_private_key: SecretStr | None = None
    vapid_public_key: str | None = None
    vapid_subject: str = "mailto:ne-pas-repondre@parcours.local"

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

    @model_validator(mode="after")
    def _check_vapid_keys(self) -> Self:
        if (self.vapid_private_key is None) != (self.vapid_public_key is None):
            raise ValueError(
                "PARCOURS_VAPID_PRIVATE_KEY and PARCOURS_VAPID_PUBLIC_KEY go together: set both"
            )
        if not self.vapid_subject.startswith(("mailto:", "https://")):
            raise ValueError("PARCOURS_VAPID_SUBJECT must be a mailto: or https:// address")
        return self

    @model_validator(mode="after")
    def _check_mail_settings(self) -> Self:
        if "@" not in self.mail_from:
            raise ValueError("PARCOURS_MAIL_FROM needs an address: 'Shop <no-reply@example.com>'")
        if self.smtp_url is None:
            return self
        url = urlsplit(self.smtp_url.get_secret_value())
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ValueError("PARCOURS_SMTP_URL must look like smtp://host:port or smtps://…")
        in_clear = url.scheme == "smtp" and not self.smtp_starttls and bool(url.password)
        loopback = url.hostname in ("localhost", "127.0.0.1", "::1")
        if self.environment is Environment.PRODUCTION and in_clear and not loopback:
            raise ValueError(
                "refusing to send the SMTP password in clear: use smtps:// or "
                "PARCOURS_SMTP_STARTTLS=true"
            )
        return self

    @property
    def base_url(self) -> str:
        """Where shoppers reach this server: used in QR codes and links."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(ValueError):
    """Settings that cannot be used, said without echoing any value: a refused setting may be a
    secret (a Stripe key, a database password), and error messages end up in logs."""


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment, or :class:`SettingsError` naming each refused variable
    and why, never what it held."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as refused:
        reasons = []
        for error in refused.errors(include_input=False, include_url=False):
            where = "_".join(str(part) for part in error["loc"]).upper()
            name = f"PARCOURS_{where}" if where else "settings"
            message = str(error["msg"])
            for value in _secret_values():
                message = message.replace(value, "***")
            reasons.append(f"{name}: {message}")
        raise SettingsError("invalid settings: " + "; ".join(reasons)) from None


def _secret_values() -> list[str]:
    """What the environment holds in PARCOURS_* variables, to scrub from messages (a validator's
    own message could quote a value)."""
    import os

    return [
        value
        for key, value in os.environ.items()
        if key.startswith("PARCOURS_") and len(value) >= 4
    ]
