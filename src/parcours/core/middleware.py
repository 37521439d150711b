"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path): request ids, access
logs, Prometheus metrics, body size limits and security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from itertools import accumulate

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parcours.core.errors import problem
from parcours.core.json_depth import MAX_JSON_DEPTH, json_too_deep
from parcours.core.logs import request_id_var

access_log = logging.getLogger("parcours.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

#: The pages' Content-Security-Policy: scripts and styles from this site only (no inline script,
#: style or handler anywhere: data travels in data attributes and JSON data blocks), WebAssembly
#: for the barcode reader, product images from wherever the catalogue keeps them, the camera's
#: blob frames, and no framing (as X-Frame-Options says to older browsers). A route that sets its
#: own policy keeps it.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
).encode()


_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_BUCKET_LABELS = [*(repr(float(b)) for b in _LATENCY_BUCKETS), "+Inf"]


class HttpMetrics(Collector):
    """Requests counted by method, route template and status, and their latency histogram.

    Per-app registry, so that several apps in one test process keep separate counts. Counted in
    plain dicts, without the client library's locks: the middleware runs on the event loop's
    one thread. The Prometheus families are built when ``/metrics`` is scraped.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests: dict[tuple[str, str, int], int] = {}
        # Per (method, route): the count in each bucket (not cumulative), then the sum.
        self._latency: dict[tuple[str, str], list[float]] = {}
        self.registry.register(self)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        latency = self._latency.get((method, route))
        if latency is None:
            latency = self._latency[method, route] = [0.0] * (len(_LATENCY_BUCKETS) + 2)
        latency[bisect_left(_LATENCY_BUCKETS, seconds)] += 1  # buckets are "less or equal"
        latency[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "parcours_http_requests", "HTTP requests answered", labels=["method", "route", "status"]
        )
        for (method, route, status), count in list(self._requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "parcours_http_request_duration_seconds",
            "Time to answer an HTTP request",
            labels=["method", "route"],
        )
        for (method, route), counts in list(self._latency.items()):
            counts = counts[:]  # one consistent copy while the event loop goes on counting
            buckets = list(zip(_BUCKET_LABELS, accumulate(counts[:-1]), strict=True))
            latency.add_metric([method, route], buckets, sum_value=counts[-1])
        yield latency


def _header(scope: Scope, name: bytes) -> bytes | None:
    """One request header (the last, as a dict of them would keep), without building the dict."""
    found = None
    for key, value in scope["headers"]:
        if key == name:
            found = value
    return None if found is None else bytes(found)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        key.lower() == b"content-type" and value.lower().startswith(b"text/html")
        for key, value in headers
    )


def _has(headers: list[tuple[bytes, bytes]], name: bytes) -> bool:
    return any(key.lower() == name for key, _ in headers)


def _route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/products/{product_id}``), which the router left
    in the scope: bounded label cardinality, whatever ids the paths carry."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"strict-origin-when-cross-origin"))
                headers.append((b"x-frame-options", b"DENY"))
                if _is_html(headers) and not _has(headers, b"content-security-policy"):
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY))
                message["headers"] = headers
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # The unexpected-error handler and the server log the traceback after this frame,
            # further out: the request id stays set for them (the request's task ends soon).
            failed = True
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.observe(method, route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):  # else not even the record's fields
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            if not failed:
                request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit with 413, by Content-Length or while streaming; refuse NUL
    characters in the path, the query or a JSON body with 422 (PostgreSQL cannot store them in
    text, and no legitimate client sends them); and JSON nested deeper than any request of ours
    needs with 400, before the parser recurses into it."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, upload_paths: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes that take a photo: their own, larger limit (they check the file itself).
        self.upload_paths = dict(upload_paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.upload_paths.get(scope.get("path", ""), self.max_bytes)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await self._refuse(scope, receive, send, max_bytes)
            return
        if _has_nul(scope.get("raw_path") or b"") or _has_nul(scope.get("query_string", b"")):
            await _refuse_nul(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and declared in (None, b"0"):
            await self.app(scope, receive, send)
            return
        # Read the whole body first (it is bounded): a refusal raised while the framework reads
        # would be turned into a vague "error parsing the body".
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > max_bytes:
                await self._refuse(scope, receive, send, max_bytes)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = _header(scope, b"content-type") or b""
        textual = b"json" in content_type or b"x-www-form-urlencoded" in content_type
        # Compressed bodies are checked by the route that decodes them (tracking's gzip).
        encoded = _header(scope, b"content-encoding") not in (None, b"", b"identity")
        if textual and not encoded and (_has_nul(body) or b"\\u0000" in body):
            await _refuse_nul(scope, receive, send)
            return
        if b"json" in content_type and not encoded and json_too_deep(body):
            await _refuse_too_deep(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        response = problem(
            413,
            "payload_too_large",
            "Payload too large",
            f"request bodies are limited to {max_bytes} bytes",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


async def _refuse_nul(scope: Scope, receive: Receive, send: Send) -> None:
    response = problem(
        422,
        "invalid_characters",
        "Invalid characters",
        "the request contains a NUL character, which no field accepts",
        instance=scope.get("path"),
    )
    await response(scope, receive, send)


async def _refuse_too_deep(scope: Scope, receive: Receive, send: Send) -> None:
    response = problem(
        400,
        "json_too_deep",
        "JSON nested too deep",
        f"arrays and objects may nest at most {MAX_JSON_DEPTH} levels",
        instance=scope.get("path"),
    )
    await response(scope, receive, send)
