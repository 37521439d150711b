"""Structured JSON logs with a request id, in which emails and phone numbers never appear in clear.

Redaction happens in the formatter, on the final text, so a personal detail slipped into a message,
an argument or an ``extra`` field is masked wherever it came from.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "parcours_request_id", default=None
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# International or French national numbers, with the usual separators; at least 9 digits.
_PHONE = re.compile(r"(?<![\w/])(?:\+|00)?\d(?:[\s.\-]?\d){8,14}(?![\w/])")

_NON_DIGIT = re.compile(r"\D")
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.lower().encode()).hexdigest()[:10]


def redact(text: str) -> str:
    """Replace emails and phone numbers with a short stable fingerprint (joinable, not readable)."""
    text = _EMAIL.sub(lambda m: f"<email:{_fingerprint(m.group())}>", text)
    return _PHONE.sub(lambda m: f"<phone:{_fingerprint(_NON_DIGIT.sub('', m.group()))}>", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else TextFormatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Uvicorn's own access log prints raw query strings; ours redacts and carries the request id.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
