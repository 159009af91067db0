"""The API key: where it comes from (the ``api_key`` argument, else ``FRAMECAST_API_KEY``) and where it goes
(``Authorization: Bearer`` on every request to the server the client was made for, and to no other host).

>>> resolve_api_key("fc_explicit", environ={"FRAMECAST_API_KEY": "fc_from_env"})
'fc_explicit'
>>> resolve_api_key(None, environ={"FRAMECAST_API_KEY": " fc_from_env "})
'fc_from_env'
>>> resolve_api_key("", environ={"FRAMECAST_API_KEY": "fc_from_env"}) is None  # explicitly no key
True
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping

import httpx

#: The environment variable the SDK (and so the CLI) reads the API key from.
API_KEY_ENV = "FRAMECAST_API_KEY"


def resolve_api_key(api_key: str | None, *, environ: Mapping[str, str] | None = None) -> str | None:
    """The key to send: ``api_key`` when given (an empty string means "send none"), else the environment's
    ``FRAMECAST_API_KEY``; None when there is no key."""
    if api_key is None:
        api_key = (os.environ if environ is None else environ).get(API_KEY_ENV)
    key = (api_key or "").strip()
    return key or None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class BearerAuth(httpx.Auth):
    """Adds the key to requests for the server's own origin only: a download from an absolute URL on
    another host (a CDN, a presigned bucket URL) must not carry the key there. httpx itself drops the
    header when a redirect leaves the origin."""

    def __init__(self, key: str, base_url: str) -> None:
        self._header = f"Bearer {key}"
        self._origin = _origin(httpx.URL(base_url))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin(request.url) == self._origin and "authorization" not in request.headers:
            request.headers["Authorization"] = self._header
        yield request


def bearer_auth(api_key: str | None, base_url: str) -> BearerAuth | None:
    """The httpx auth for a client made with ``api_key`` (see :func:`resolve_api_key`), or None."""
    key = resolve_api_key(api_key)
    return None if key is None else BearerAuth(key, base_url)
