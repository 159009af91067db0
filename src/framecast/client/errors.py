"""The SDK's one exception and the check that raises it; shared by both clients.

Exception tree::

    ClientError          the server answered with an error (``status``, ``code``, ``message``)

Transport failures that outlast the reconnects surface as httpx's own ``httpx.TransportError``.
"""

from __future__ import annotations

import httpx


class ClientError(Exception):
    """Raised when the server answers with an error; carries the server's ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def check(response: httpx.Response) -> httpx.Response:
    """``response`` itself when it succeeded; raises ClientError with the server's code otherwise (the body
    must have been read)."""
    if response.status_code >= 400:
        try:
            body = response.json()
            code, message = body.get("code", "error"), body.get("message", response.text)
        except ValueError:
            code, message = "error", response.text
        raise ClientError(response.status_code, code, message)
    return response
