"""Rendering pages: templates with the request's language, the caller and the common links."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from parcours.core.auth.principal import ANONYMOUS, Principal
from parcours.core.i18n import LANG_COOKIE, SUPPORTED, negotiate_locale, translate

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def page_locale(request: Request) -> str:
    settings = request.app.state.settings
    return negotiate_locale(request, default=settings.default_locale)


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    lang = page_locale(request)
    other = next(code for code in SUPPORTED if code != lang)
    params = dict(request.query_params)
    params["lang"] = other
    principal: Principal = getattr(request.state, "principal", ANONYMOUS)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "other_lang": other,
            "switch_lang_url": f"{request.url.path}?{urlencode(params)}",
            "t": lambda message_id, **values: translate(lang, message_id, **values),
            "principal": principal,
            **context,
        },
        status_code=status_code,
    )
    if principal.kind == "staff":
        # A staff page shows customers, orders, sales: never kept by the browser or a proxy
        # (the back button on a shared till, a shared tablet). Pages may say more (no-store).
        response.headers.setdefault("Cache-Control", "no-store")
    if request.query_params.get("lang") in SUPPORTED:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response
