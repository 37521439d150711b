"""French by default, English on request: the locale of a request and the page texts.

Texts live in ``web/locales/<lang>.json`` keyed by message id, plus one file per user interface
area in ``web/locales/<lang>/<area>.json`` (so that each area's texts stay together); an id defined
twice is refused when the catalogue loads. A missing English text falls back to French, and a
missing id shows the id itself so that it is noticed, never a crash.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request

SUPPORTED = ("fr", "en")
DEFAULT = "fr"
LANG_COOKIE = "parcours_lang"
_LOCALES_DIR = Path(__file__).resolve().parent.parent / "web" / "locales"
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


@cache
def _catalog(lang: str) -> dict[str, str]:
    paths = [_LOCALES_DIR / f"{lang}.json", *sorted((_LOCALES_DIR / lang).glob("*.json"))]
    data: dict[str, str] = {}
    for path in paths:
        texts: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        twice = sorted(data.keys() & texts.keys())
        if twice:
            raise ValueError(f"{path.name} defines texts already defined: {', '.join(twice)}")
        data.update(texts)
    return data


def translate(lang: str, message_id: str, **values: object) -> str:
    text = _catalog(lang).get(message_id) or _catalog(DEFAULT).get(message_id) or message_id
    return text.format(**values) if values else text


def negotiate_locale(request: Request, default: str = DEFAULT) -> str:
    """``?lang=`` first, then the cookie a previous choice set, then Accept-Language."""
    asked = request.query_params.get("lang")
    if asked in SUPPORTED:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in SUPPORTED:
        return cookie
    header = request.headers.get("accept-language", "")
    weighted = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((quality, tag.split("-")[0].lower()))
    for _, lang in sorted(weighted, key=lambda item: -item[0]):
        if lang in SUPPORTED:
            return lang
    return default
