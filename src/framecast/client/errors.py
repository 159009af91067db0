"""The SDK's one exception and the check that raises it; shared by both clients.

Exception tree::

    ClientError          the server answered with an error (``status``, ``code``, ``message``)

Transport failures that outlast the reconnects surface as httpx's own ``httpx.TransportError``.
"""

from __future__ import annotations

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
    def unavailable(self) -> bool:
        """True for an outage on the server's side, which ends by itself: try again after ``retry_after``."""
        return self.status == 503


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isascii() and value.isdigit() else None


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
        raise ClientError(
            response.status_code, code, message, cause=cause, retry_after=_retry_after(response)
        )
    return response
