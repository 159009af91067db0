"""The SDK's one exception and the check that raises it; shared by both clients.

Exception tree::

    ClientError          the server answered with an error (``status``, ``code``, ``message``); a 401 is
                         always ``code == "unauthenticated"``, with a message that says to set
                         ``FRAMECAST_API_KEY``
    └── WaitTimeout      ``wait(timeout=...)`` ran out before the project ended (``status`` 0: no HTTP
                         answer; ``project_id``, ``timeout_s`` and the last ``snapshot``); the project
                         keeps running on the server. Also a ``TimeoutError``.

``framecast.client.webhooks.WebhookVerificationError`` (a ``standardwebhooks`` error) is raised by
``verify`` for a delivery that is not proven to be Framecast's.

Transport failures that outlast the reconnects surface as httpx's own ``httpx.TransportError``.
"""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """Raised when the server answers with an error; carries the server's ``code`` and ``message``.

    A 503 ``service_unavailable`` (the server's database, broker or storage is down) also carries its
    ``cause`` (``database_down``...) and ``retry_after`` (seconds, from the ``Retry-After`` header); the
    event iterators ride those out and resume.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        cause: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.cause = cause
        self.retry_after = retry_after

    @property
    def unauthenticated(self) -> bool:
        """True for a 401: no key, or a key the server refused. Retrying with the same key cannot help."""
        return self.status == 401

    @property
    def unavailable(self) -> bool:
        """True for an outage on the server's side, which ends by itself: try again after ``retry_after``."""
        return self.status == 503


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isascii() and value.isdigit() else None


def _sent_a_key(response: httpx.Response) -> bool:
    try:
        return "authorization" in response.request.headers
    except RuntimeError:  # a response built without a request
        return False


def _unauthenticated_message(response: httpx.Response, server_message: str) -> str:
    said = server_message.strip().rstrip(".") + ". " if server_message.strip() else ""
    if _sent_a_key(response):
        return (
            f"{said}The server refused the API key: set FRAMECAST_API_KEY to a current key "
            "(`framecast keys list` shows which are active)."
        )
    how = "" if "keys create" in said else " (`framecast keys create --owner NAME` makes one)"
    return f"{said}This server needs an API key: set FRAMECAST_API_KEY{how}."


def check(response: httpx.Response) -> httpx.Response:
    """``response`` itself when it succeeded; raises ClientError with the server's code otherwise (the body
    must have been read)."""
    if response.status_code >= 400:
        cause = None
        try:
            body = response.json()
            code, message = body.get("code", "error"), body.get("message", response.text)
            cause = body.get("cause")
        except ValueError:
            code, message = "error", response.text
        if response.status_code == 401:
            # Whatever sent it (Framecast, or a proxy in front with a page of its own), a 401 is about the
            # key: say which variable fixes it, and keep only a JSON body's message (never a whole page).
            said = str(message) if code != "error" else ""
            code, message = "unauthenticated", _unauthenticated_message(response, said)
        raise ClientError(
            response.status_code, code, message, cause=cause, retry_after=_retry_after(response)
        )
    return response


class WaitTimeout(ClientError, TimeoutError):
    """Raised when ``Client.wait(timeout=...)`` (or the async twin's) runs out before the project ends.
    Nothing is cancelled: the project goes on, and a later ``wait`` picks it up. ``snapshot`` is the last
    one read (None if none was), ``last_seq`` the last event seen."""

    def __init__(
        self, project_id: str, timeout_s: float, snapshot: dict[str, Any] | None, last_seq: int
    ) -> None:
        state = ""
        if snapshot is not None:
            state = (
                f" (status {snapshot.get('status')}, {float(snapshot.get('progress') or 0) * 100:.0f}% done)"
            )
        super().__init__(
            0,
            "wait_timeout",
            f"Project {project_id} did not finish within {timeout_s:g} s{state}; it is still running on the "
            "server: wait again, or cancel it.",
        )
        self.project_id = project_id
        self.timeout_s = timeout_s
        self.snapshot = snapshot
        self.last_seq = last_seq
