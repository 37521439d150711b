"""Who carries an email out: an SMTP server, or, on a laptop without one, the development mailbox.

A sender turns one stored message into a MIME email and hands it over. It reports failures as
:class:`SendError` with a short code-only description (an SMTP reply often quotes the address,
so the server's text is never kept) and whether retrying could help.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

from parcours.core.clock import utcnow
from parcours.core.settings import Environment, Settings

log = logging.getLogger("parcours.notifications")

SMTP_SCHEMES = {"smtp": 25, "smtps": 465}
DEFAULT_SMTP_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """What a sender needs of a stored message."""

    message_id: str  # msg_…: also the local part of the Message-ID header, stable across retries
    to_address: str
    subject: str
    text: str
    html: str


class SendError(Exception):
    """A message did not go. ``error`` holds codes only (safe to store and log)."""

    def __init__(self, error: str, *, permanent: bool = False, server_down: bool = False) -> None:
        super().__init__(error)
        self.error = error
        #: Retrying will not help (the recipient does not exist, the content was refused).
        self.permanent = permanent
        #: Nothing can go now (unreachable, authentication refused): stop this delivery pass.
        self.server_down = server_down


class Sender(Protocol):
    #: Stored on the message as ``delivered_by``: ``smtp`` or ``development_mailbox``.
    name: str

    def send(self, email: OutgoingEmail) -> None:
        """Hand the email over, or raise :class:`SendError`."""

    def close(self) -> None:
        """Release what the sender holds (a connection) at the end of a delivery pass."""


def sender_domain(mail_from: str) -> str:
    """The domain of the From address (for Message-ID headers)."""
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "parcours.local"


def build_mime(email: OutgoingEmail, *, mail_from: str) -> EmailMessage:
    """A ``multipart/alternative`` email: the text part first, the HTML part preferred."""
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = mail_from
    message["To"] = email.to_address
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<{email.message_id}@{sender_domain(mail_from)}>"
    # RFC 3834: out-of-office robots must not answer an automatic message.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """``smtp://user:pass@host:port`` or ``smtps://…`` (TLS from the first byte), parsed."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SMTP_SCHEMES:
            raise ValueError("the SMTP URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("the SMTP URL needs a host: smtp://host:port")
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=parts.port or SMTP_SCHEMES[scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    @property
    def is_loopback(self) -> bool:
        return self.host in ("localhost", "127.0.0.1", "::1")


def _code_of(exc: smtplib.SMTPResponseException) -> int:
    return int(exc.smtp_code)


class SmtpSender:
    """Sends over SMTP with the standard library: one connection per delivery pass, opened on the
    first message and closed by :meth:`close`."""

    name = "smtp"

    def __init__(
        self,
        *,
        url: str,
        mail_from: str,
        starttls: bool = False,
        timeout: float = DEFAULT_SMTP_TIMEOUT,
    ) -> None:
        self.target = SmtpTarget.parse(url)
        self.mail_from = mail_from
        self.envelope_from = parseaddr(mail_from)[1]
        self.starttls = starttls
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        if settings.smtp_url is None:
            raise ValueError("PARCOURS_SMTP_URL is not set")
        return cls(
            url=settings.smtp_url.get_secret_value(),
            mail_from=settings.mail_from,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        smtp: smtplib.SMTP | None = None
        try:
            if target.scheme == "smtps":
                smtp = smtplib.SMTP_SSL(
                    target.host,
                    target.port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
            if target.username:
                smtp.login(target.username, target.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            self._discard(smtp)
            raise SendError(
                f"smtp authentication refused ({_code_of(exc)})", server_down=True
            ) from None
        except smtplib.SMTPNotSupportedError:
            self._discard(smtp)
            raise SendError(
                "smtp server does not offer STARTTLS or AUTH", server_down=True
            ) from None
        except smtplib.SMTPResponseException as exc:
            self._discard(smtp)
            raise SendError(
                f"smtp server refused the session ({_code_of(exc)})", server_down=True
            ) from None
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, TLS failed
            self._discard(smtp)
            raise SendError(
                f"smtp server unreachable ({type(exc).__name__})", server_down=True
            ) from None
        return smtp

    @staticmethod
    def _discard(smtp: smtplib.SMTP | None) -> None:
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def send(self, email: OutgoingEmail) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        mime = build_mime(email, mail_from=self.mail_from)
        try:
            self._smtp.send_message(mime, from_addr=self.envelope_from, to_addrs=[email.to_address])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({int(code) for code, _ in exc.recipients.values()})
            first = codes[0] if codes else 550
            raise SendError(f"smtp recipient refused ({first})", permanent=first >= 500) from None
        except smtplib.SMTPSenderRefused as exc:  # our From: a configuration problem
            raise SendError(f"smtp sender refused ({_code_of(exc)})", server_down=True) from None
        except smtplib.SMTPServerDisconnected:
            self._smtp = None
            raise SendError("smtp connection closed by the server") from None
        except smtplib.SMTPResponseException as exc:  # DATA refused, or another reply
            code = _code_of(exc)
            raise SendError(f"smtp message refused ({code})", permanent=code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._discard(self._smtp)
            self._smtp = None
            raise SendError(f"smtp connection lost ({type(exc).__name__})") from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._discard(smtp)


class MailboxSender:
    """No mail server (a shop's laptop demo): messages count as sent to the development mailbox,
    which is the messages table itself (``GET /v1/messages/{id}`` shows the text). Nothing
    leaves the machine."""

    name = "development_mailbox"

    def send(self, email: OutgoingEmail) -> None:
        log.info("email kept in the development mailbox", extra={"message_id": email.message_id})

    def close(self) -> None:
        return None


def build_sender(settings: Settings) -> Sender | None:
    """SMTP when ``PARCOURS_SMTP_URL`` is set; else the development mailbox, except in production,
    where ``None`` means: keep the messages queued until a mail server is configured."""
    if settings.smtp_url is not None:
        return SmtpSender.from_settings(settings)
    if settings.environment is Environment.PRODUCTION:
        return None
    return MailboxSender()
