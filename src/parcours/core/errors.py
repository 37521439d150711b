"""Domain errors and their one mapping to RFC 9457 problem+json responses.

Services raise :class:`DomainError` subclasses with a stable ``code``; clients switch on the code,
people read ``title`` and ``detail``. Validation errors, unknown routes and oversized bodies answer
in the same shape.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from parcours.core.logs import request_id_var

log = logging.getLogger("parcours.errors")

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """A refusal the caller can understand and act on."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    #: Where a person opening a page (not an API client) is sent instead of a problem document.
    page_redirect: str | None = None

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class InvalidInput(DomainError):
    status, code, title = 422, "invalid_input", "Invalid input"


class Unauthenticated(DomainError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class PreconditionFailed(DomainError):
    status, code, title = 412, "precondition_failed", "Precondition failed"


class TooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Payload too large"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://parcours.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Keep what a client needs (where, what, why); never echo the rejected input back."""
    cleaned = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        cleaned.append({"location": loc, "message": err.get("msg", ""), "type": err.get("type")})
    return cleaned


def _wants_page(request: Request) -> bool:
    return (
        request.method == "GET"
        and not request.url.path.startswith("/v1")
        and ("text/html" in request.headers.get("accept", ""))
    )


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Out of connections (every pooled one busy, the server's max_connections reached) or a
    database down or busy: a moment's wait, not a bug (503 with Retry-After, not 500). Said
    without the driver's message, which may name hosts and users."""
    log.warning(
        "database unavailable", extra={"path": request.url.path, "error": type(exc).__name__}
    )
    request_id = request_id_var.get()
    return problem(
        503,
        "database_unavailable",
        "Service unavailable",
        "The shop's database is busy or out of reach; try again in a moment.",
        instance=request.url.path,
        headers={"Retry-After": "2", **({"X-Request-ID": request_id} if request_id else {})},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        headers = exc.extra.pop("headers", None)
        if isinstance(exc, Unauthenticated) and _wants_page(request):
            # A person opening a staff page is sent to sign in, then brought back.
            return RedirectResponse(f"/connexion?next={quote(request.url.path)}", status_code=303)
        if exc.page_redirect is not None and _wants_page(request):
            return RedirectResponse(exc.page_redirect, status_code=303)
        return problem(
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            instance=request.url.path,
            headers=headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_validation_errors(exc.errors())
        first = errors[0] if errors else {"location": [], "message": "invalid request"}
        where = ".".join(first["location"])
        return problem(
            422,
            "validation_error",
            "Invalid request",
            f"{where}: {first['message']}" if where else str(first["message"]),
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        code = phrase.lower().replace(" ", "_").replace("-", "_")
        detail = exc.detail if isinstance(exc.detail, str) else str(phrase)
        return problem(
            status,
            code,
            phrase,
            detail,
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(SQLAlchemyTimeoutError)
    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if database_unreachable(exc):
            return _database_unavailable(request, exc)
        log.exception("unhandled error", extra={"path": request.url.path})
        # Answered outside the request-id middleware: the id is put on the answer here.
        request_id = request_id_var.get()
        return problem(
            500,
            "internal_error",
            "Internal server error",
            "Something went wrong on our side; the request id helps us find it.",
            instance=request.url.path,
            headers={"X-Request-ID": request_id} if request_id else None,
        )


_UNREACHABLE = (
    "too many clients",
    "too many connections",
    "remaining connection slots",
    "connection refused",
    "could not connect",
    "connection failed",
    "server closed the connection",
    "terminating connection",
    "the database system is starting up",
    "the database system is shutting down",
    "database is locked",
)


def database_unreachable(exc: BaseException) -> bool:
    """Whether a database error means "not now" (no connection to be had, the server down or
    busy) rather than a fault in a statement, which stays a 500 with its traceback."""
    if isinstance(exc, SQLAlchemyTimeoutError):
        return True  # the pool had no free connection in time
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return any(phrase in text for phrase in _UNREACHABLE)
