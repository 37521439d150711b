"""Web push (RFC 8030) with VAPID (RFC 8292) and ``aes128gcm`` payloads (RFC 8291), through
``pywebpush``: the server's key pair and the sending of one notification to one browser.

The push service (Google's, Mozilla's, Apple's) is whatever host the browser's subscription names;
we POST an encrypted payload there. Its answer decides the subscription's fate: 201 delivered,
404/410 the browser dropped the subscription (revoke it), 429/5xx try again later, other 4xx a
problem of ours (recorded, not retried).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from parcours.core.settings import Environment, Settings

log = logging.getLogger("parcours.notifications")

#: How long a push service keeps a notification for an offline device: a pickup notice is
#: still useful the next day, not a week later.
DEFAULT_TTL_SECONDS = 24 * 3600
PUSH_TIMEOUT_SECONDS = 5.0
DEV_KEY_FILE = Path("var/vapid.json")

_dev_keys_lock = threading.Lock()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class VapidKeys:
    """The server's P-256 key pair, base64url: ``private`` the 32-byte scalar, ``public`` the
    65-byte uncompressed point (what ``PushManager.subscribe`` takes as applicationServerKey)."""

    private: str
    public: str


def generate_vapid_keys() -> VapidKeys:
    """A new key pair (``parcours`` operators put it in PARCOURS_VAPID_*)."""
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidKeys(private=b64url(scalar), public=b64url(point))


def _development_keys(path: Path) -> VapidKeys:
    # Generated once and kept, so that browsers subscribed yesterday still accept our pushes:
    # a new key pair silently orphans every subscription.
    with _dev_keys_lock:
        if path.exists():
            stored = json.loads(path.read_text())
            return VapidKeys(private=stored["private"], public=stored["public"])
        keys = generate_vapid_keys()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"private": keys.private, "public": keys.public}))
        path.chmod(0o600)
        log.info("generated a development VAPID key pair", extra={"path": str(path)})
        return keys


def vapid_keys(settings: Settings, *, dev_key_file: Path = DEV_KEY_FILE) -> VapidKeys | None:
    """The configured key pair; in development and tests without one, a pair kept under
    ``var/``; in production without one, ``None``: push is off (a browser cannot subscribe)."""
    if settings.vapid_private_key is not None and settings.vapid_public_key:
        return VapidKeys(
            private=settings.vapid_private_key.get_secret_value(), public=settings.vapid_public_key
        )
    if settings.environment is Environment.PRODUCTION:
        return None
    return _development_keys(dev_key_file)


@dataclass(frozen=True, slots=True)
class PushTarget:
    """What a sender needs of a stored subscription."""

    endpoint: str
    p256dh: str
    auth: str


class PushError(Exception):
    """A push did not go. ``error`` is a code-only description, safe to store and log."""

    def __init__(self, error: str, *, gone: bool = False, retry: bool = False) -> None:
        super().__init__(error)
        self.error = error
        #: The browser dropped this subscription (404/410): never use it again.
        self.gone = gone
        #: Worth another try later (the push service was busy or unreachable).
        self.retry = retry


def send_push(
    target: PushTarget,
    payload: dict[str, Any],
    *,
    keys: VapidKeys,
    subject: str,
    ttl: int = DEFAULT_TTL_SECONDS,
    timeout: float = PUSH_TIMEOUT_SECONDS,
) -> None:
    """Encrypt ``payload`` (JSON) for the browser and hand it to its push service, or raise
    :class:`PushError`."""
    from pywebpush import WebPushException, webpush

    try:
        webpush(
            subscription_info={
                "endpoint": target.endpoint,
                "keys": {"p256dh": target.p256dh, "auth": target.auth},
            },
            data=json.dumps(payload, ensure_ascii=False),
            vapid_private_key=keys.private,
            vapid_claims={"sub": subject},
            content_encoding="aes128gcm",
            ttl=ttl,
            timeout=timeout,
            # "high": a pickup notice is what she waits for; the service may wake the device.
            headers={"Urgency": "high"},
        )
    except WebPushException as exc:
        status = exc.status_code
        if status in (404, 410):
            raise PushError(f"push service {status}: subscription gone", gone=True) from None
        if status is None:
            raise PushError("push service unreachable", retry=True) from None
        raise PushError(f"push service {status}", retry=status == 429 or status >= 500) from None
    except (OSError, ValueError) as exc:  # connection refused, timed out, malformed keys
        retry = isinstance(exc, OSError)
        raise PushError(f"push failed ({type(exc).__name__})", retry=retry) from None
