"""Request ids, as plain ASGI middleware outside everything else.

Each HTTP request and WebSocket gets an id: the client's own ``X-Request-ID`` when it is a sane token (1 to
100 characters of ``A-Z a-z 0-9 . _ -``, so it cannot forge log lines or headers), otherwise a fresh one.
It is put in the logging context (``framecast.logs``) for every record the request causes, sent back as
``X-Request-ID`` on every response (the WebSocket handshake too), and written into every error body by
``web.errors.problem``. When the request ends, one access line says method, path (never the query: it may
hold a delivery token), status and time.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from framecast.logs import enter

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,100}")
#: Probes and scrapes that would fill the log every few seconds: their access lines are DEBUG.
_QUIET_PATHS = ("/healthz", "/readyz", "/metrics", "/static/")

log = logging.getLogger("framecast.web.access")


def request_id_from(value: str | None) -> str:
    """The client's id when it is sane, else a new one (``req_`` and 24 hex digits)."""
    if value is not None and _SANE.fullmatch(value):
        return value
    return "req_" + uuid.uuid4().hex[:24]


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(HEADER))
        # A fresh logging scope for this request's task, not reset on the way out: a 500 for an exception
        # that escapes the app is answered by Starlette's outermost middleware, after this frame is gone,
        # and its body still carries the id (each ASGI request runs in a task, and a context, of its own).
        enter(request_id=request_id)
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            elif message["type"] == "websocket.accept":
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            method = scope.get("method", "WS") if scope["type"] == "http" else "WS"
            level = logging.DEBUG if path.startswith(_QUIET_PATHS) else logging.INFO
            # No status: the app raised before answering (Starlette's outermost middleware answers 500).
            log.log(
                level,
                "%s %s %s %.1f ms",
                method,
                path,
                status or (500 if scope["type"] == "http" else "closed"),
                (time.perf_counter() - started) * 1000,
            )
