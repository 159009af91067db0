"""Errors to HTTP (and to stream messages), in one place: each FramecastError class maps to one status;
validation errors become 422 with the field and a sentence a person can act on; every ``Unavailable``
(database, broker or storage down) is 503 ``service_unavailable`` with ``Retry-After`` and its cause; only a
bug is a 500 ``internal_error``.

The same table decides the WebSocket close code (``ws_close_code``) and the body of a stream's ``problem``
message (``public_error``), so a client reads the same meaning on every transport.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from framecast.domain.errors import (
    Cancelled,
    Conflict,
    Forbidden,
    FramecastError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RangeNotSatisfiable,
    TaskFailed,
    Unauthenticated,
    Unavailable,
    UnsupportedMedia,
    UnusableMessage,
)
from framecast.domain.webhooks import URL_NOT_ALLOWED
from framecast.logs import current as current_ids

log = logging.getLogger(__name__)

#: Looked up along the class hierarchy (most specific first), as Starlette does for exception handlers.
STATUS: dict[type[FramecastError], int] = {
    PayloadTooLarge: 413,
    UnsupportedMedia: 415,
    InvalidInput: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    QuotaExceeded: 429,
    RangeNotSatisfiable: 416,
    Conflict: 409,
    Cancelled: 409,
    Unavailable: 503,
    TaskFailed: 500,
    FramecastError: 400,
}

#: Validation errors that carry a stable code of their own (a domain validator raised them with that type);
#: every other validation error is ``invalid_input``.
CODED_VALIDATION_ERRORS = frozenset({URL_NOT_ALLOWED})

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large"}

#: The contract's stable code for every outage; the specific one (``database_down``...) goes in ``cause``.
UNAVAILABLE_CODE = "service_unavailable"
#: Seconds a client should wait before trying again after a 503 (an outage is usually over in seconds, and a
#: client that waits longer only delays its own recovery).
RETRY_AFTER_S = 3
INTERNAL_ERROR = {
    "code": "internal_error",
    "message": "Something went wrong on our side; the error was logged.",
}


def status_for(exc: FramecastError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def public_error(exc: FramecastError | None) -> dict[str, str]:
    """``{code, message[, field][, cause]}`` as clients see it, over HTTP and in a stream's ``problem``
    message; None stands for a bug (``internal_error``)."""
    if exc is None:
        return dict(INTERNAL_ERROR)
    body = exc.as_dict()
    if isinstance(exc, Unavailable):
        body["cause"] = body["code"]
        body["code"] = UNAVAILABLE_CODE
    if isinstance(exc, QuotaExceeded):
        body["limit"] = exc.limit
    return body


#: Close codes of RFC 6455's own for errors that have one (looked up before ``STATUS``).
WS_CLOSE: dict[type[FramecastError], int] = {
    UnusableMessage: 1008,  # policy violation: a frame the server cannot use
}


def ws_close_code(exc: FramecastError | None) -> int:
    """The WebSocket close code for an error, chosen by its class: RFC 6455's own where ``WS_CLOSE`` has one
    (1008 for a frame the server cannot use), else through ``STATUS``: 4000 + the HTTP status for the
    client's problem (4404 unknown project, 4422 bad ``after``), 1011 for the server's (an outage, a bug);
    None stands for a bug."""
    if exc is not None:
        for cls in type(exc).__mro__:
            if cls in WS_CLOSE:
                return WS_CLOSE[cls]
    status = 500 if exc is None else status_for(exc)
    return 4000 + status if status < 500 else 1011


def log_unavailable(where: str, exc: Unavailable) -> None:
    """One line per outage answer, with the driver's reason the client does not see."""
    reason = exc.__cause__ if exc.__cause__ is not None else exc.message
    log.warning("%s: 503 %s (%s)", where, exc.code, reason)


def problem(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """The one error body: ``{status, code, message, …extra, request_id}``, with ``X-Request-ID`` (also
    when Starlette's outermost middleware answers a 500, outside the request-id middleware)."""
    body = {
        "status": status,
        "code": code,
        "message": message,
        **{k: v for k, v in extra.items() if v is not None},
    }
    request_id = current_ids().get("request_id")
    if request_id:
        body["request_id"] = request_id
    response = JSONResponse(body, status_code=status, media_type="application/problem+json")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    return response


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts)


def _sentence(err: dict[str, Any]) -> tuple[str, str]:
    field = _field(tuple(err.get("loc", ())))
    kind = err.get("type", "")
    msg = str(err.get("msg", "is not valid"))
    ctx = err.get("ctx") or {}
    if kind == "json_invalid":
        return "", f"The request body is not valid JSON ({ctx.get('error', 'parse error')})."
    if kind == "extra_forbidden":
        return (
            field,
            f"Unknown field '{field}'. Check the spelling; see /docs for the fields this endpoint takes.",
        )
    if kind == "missing":
        return field, f"'{field}' is required."
    if kind in ("model_attributes_type", "dict_type"):
        if field:
            return field, f"'{field}' must be a JSON object."
        return "body", "The request body must be a JSON object."
    if kind == "literal_error":
        return field, f"'{field}' must be one of {ctx.get('expected', 'the allowed values')}."
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return field, f"'{field}': {msg}." if field else msg


def error_response(exc: FramecastError, where: str) -> JSONResponse:
    """The answer to a FramecastError, with the headers its kind needs (``where``: for the outage log)."""
    response = problem(status_for(exc), **public_error(exc))
    if isinstance(exc, RangeNotSatisfiable):
        response.headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="framecast"'
    if isinstance(exc, QuotaExceeded):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, Unavailable):
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        log_unavailable(where, exc)
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(FramecastError)
    async def _framecast(request: Request, exc: FramecastError) -> JSONResponse:
        return error_response(exc, f"{request.method} {request.url.path}")

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        codes = []
        for err in exc.errors():
            field, message = _sentence(dict(err))
            errors.append({"field": field or None, "message": message})
            codes.append(str(err.get("type", "")))
        first = errors[0] if errors else {"field": None, "message": "The request is not valid."}
        code = codes[0] if codes and codes[0] in CODED_VALIDATION_ERRORS else "invalid_input"
        return problem(422, code, str(first["message"]), field=first["field"], errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and message == "Not Found":
            message = "There is nothing at this address."
        response = problem(exc.status_code, code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, **INTERNAL_ERROR)
