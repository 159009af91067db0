"""The exception tree. The web layer maps each class to one HTTP status in one table.

FramecastError                 any error Framecast raises on purpose
├── InvalidInput               a request body, parameter or file is wrong (422)
│   ├── PayloadTooLarge        a body or upload is over the limit (413)
│   ├── UnsupportedMedia       an upload's content is not an accepted type (415)
│   ├── EngineNotAvailable     the project's engine is not configured here, or cannot do an option (422)
│   ├── WebhookUrlNotAllowed   a webhook URL is not http(s) or leads to a non-public address (422)
│   └── UnusableMessage        a stream client sent a message the server cannot use (WebSocket close 1008)
├── Unauthenticated            no valid credentials: key, session, proxy header or token (401)
├── Forbidden                  valid credentials that may not do this (403: /metrics without an admin key)
├── NotFound                   no such project, asset or task for this owner (404)
├── RangeNotSatisfiable        a Range asks only for bytes past the end of a file (416)
├── QuotaExceeded              a per-owner or service-wide limit is reached (429, Retry-After)
├── Conflict                   the request clashes with the current state (409)
│   ├── IdempotencyConflict    an Idempotency-Key was reused with another body
│   └── AlreadyExists          a concurrent writer inserted the same unique key first (internal)
├── Unavailable                a dependency (database, broker, storage) is down (503)
├── TaskFailed                 a task could not produce its output (recorded on the task)
└── Cancelled                  the project was cancelled while a task ran (internal)
"""

from __future__ import annotations

from typing import Any


class FramecastError(Exception):
    """Raised for every error Framecast means to raise; carries a stable ``code`` and a human message."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def as_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out

    def as_record(self) -> dict[str, Any]:
        """What a failed task (and its project) records of this error: ``as_dict`` and any member of the
        error's own that a client can act on (a provider's ``retry_after_s``)."""
        return dict(self.as_dict())


class InvalidInput(FramecastError):
    """Raised when a request body, parameter or uploaded file is not acceptable."""

    code = "invalid_input"


class EngineNotAvailable(InvalidInput):
    """A project asked for an engine this service has not configured, or for an option it cannot do (422).
    The message says what is available (``engines.base`` re-exports it for engines)."""

    code = "engine_not_available"


class PayloadTooLarge(InvalidInput):
    """Raised when a body or an upload is bigger than its limit."""

    code = "payload_too_large"


class UnsupportedMedia(InvalidInput):
    """Raised when an uploaded file's content is not an accepted image or audio type."""

    code = "unsupported_media_type"


class WebhookUrlNotAllowed(InvalidInput):
    """Raised when a webhook URL is not http(s), or its host resolves to a loopback, private, link-local,
    multicast, unspecified or metadata address (unless FRAMECAST_WEBHOOK_ALLOW_PRIVATE=true)."""

    code = "webhook_url_not_allowed"


class UnusableMessage(InvalidInput):
    """Raised when a stream client sends a message the server cannot use: a WebSocket frame that is not
    JSON, not an object, of an unknown type, or a ``resume`` without a valid ``after``."""

    code = "invalid_message"


class Unauthenticated(FramecastError):
    """Raised when a request carries no valid credentials (a missing, unknown, revoked or expired key,
    session or token)."""

    code = "unauthenticated"


class Forbidden(FramecastError):
    """Raised when the caller is known but may not use this route (a non-admin key on ``/metrics``)."""

    code = "forbidden"


class NotFound(FramecastError):
    """Raised when a project, asset or task does not exist (or belongs to someone else)."""

    code = "not_found"


class RangeNotSatisfiable(FramecastError):
    """Raised when a Range header asks for bytes past the end of a stored file."""

    code = "range_not_satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__(f"The file has {size} bytes; the requested range is outside it.")
        self.size = size


class QuotaExceeded(FramecastError):
    """Raised when a new project would pass a limit (active projects, seconds per day, storage, the
    service's queue); ``retry_after_s`` says when asking again may succeed."""

    code = "quota_exceeded"

    def __init__(self, message: str, *, retry_after_s: int, limit: str) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))
        self.limit = limit


class Conflict(FramecastError):
    """Raised when a request is valid but the current state does not allow it (retry a completed project)."""

    code = "conflict"


class IdempotencyConflict(Conflict):
    """Raised when an Idempotency-Key is reused with a different request body."""

    code = "idempotency_key_reused"


class AlreadyExists(Conflict):
    """Raised by the ledger when an insert loses a race on a unique key; the caller re-reads the winner."""

    code = "already_exists"


class Unavailable(FramecastError):
    """Raised when a dependency (database, broker, storage) cannot be reached: a step that meets it is paused
    and re-run, a request gets 503 with Retry-After.

    ``code`` names the cause (``database_down``, ``database_busy``, ``broker_down``, ``storage_down``...);
    on the wire every Unavailable is 503 ``service_unavailable`` with that cause beside it.
    """

    code = "unavailable"


class TaskFailed(FramecastError):
    """Raised by a task handler when it cannot produce its output; the message is shown to the person."""

    code = "task_failed"


class Cancelled(FramecastError):
    """Raised inside a running task when its project was cancelled; the task stops without output."""

    code = "cancelled"
