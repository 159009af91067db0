"""Defences against browser attacks, in every auth mode, as plain ASGI middleware in front of everything.

* **Host** (DNS rebinding): a page on ``evil.example`` whose name is re-pointed at 127.0.0.1 reaches the
  server with ``Host: evil.example``. Only the loopback names, the bind address and
  ``FRAMECAST_ALLOWED_HOSTS`` are answered; anything else gets 421 ``host_not_allowed``.
* **Cross-site requests** (CSRF, and cross-site WebSocket hijacking): a state-changing request (any method
  but GET, HEAD and OPTIONS) or a WebSocket handshake that a browser marks as coming from another site —
  ``Sec-Fetch-Site: cross-site`` or ``same-site``, or an ``Origin`` that is neither this server's own nor
  in ``FRAMECAST_ALLOWED_ORIGINS`` — gets 403 ``cross_site_request``. That covers the "simple" requests that
  need no preflight (HTML forms, ``multipart/form-data`` and ``text/plain`` bodies). Browsers send these
  headers on every such request and a page cannot forge them, so cookie sessions need no CSRF token;
  clients that are not browsers (curl, the SDK) send neither header and are not affected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from framecast.web.errors import problem

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WILDCARD_BINDS = frozenset({"0.0.0.0", "::", "[::]", ""})


def host_name(value: str) -> str:
    """The host part of a Host header or netloc, lower-cased, without the port (``[::1]:8000`` →
    ``[::1]``)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end != -1 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_hosts(bind_host: str, extra: Iterable[str]) -> frozenset[str]:
    names = set(LOOPBACK_HOSTS)
    if bind_host not in _WILDCARD_BINDS:
        names.add(
            host_name(f"[{bind_host}]" if ":" in bind_host and not bind_host.startswith("[") else bind_host)
        )
    names.update(host_name(h) for h in extra if h.strip())
    return frozenset(names)


def _peer_in(scope: Scope, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    client = scope.get("client")
    if not client or not networks:
        return False
    try:
        peer = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    return any(peer in network for network in networks)


def _same_authority(origin_netloc: str, host: str, scheme: str) -> bool:
    """Whether an Origin's host[:port] names this server as the request's Host does. A Host without a port
    (a proxy that forwards ``$host``, which drops it) can only be matched by name."""
    origin = _without_default_port(origin_netloc, scheme)
    here = _without_default_port(host, scheme)
    if origin == here:
        return True
    return host_name(here) == here and host_name(origin) == here


def _without_default_port(netloc: str, scheme: str) -> str:
    netloc = netloc.strip().lower()
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    return netloc.removesuffix(default) if default else netloc


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    if scope["type"] == "websocket":
        # Refusing the handshake: the server answers 403 to the upgrade request.
        await send({"type": "websocket.close", "code": 1008, "reason": code})
        return
    await problem(status, code, message)(scope, receive, send)


class BrowserGuard:
    """Host check, then the cross-site check (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: frozenset[str],
        origins: Iterable[str],
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.origins = frozenset(o.strip().rstrip("/").lower() for o in origins if o.strip())
        self.proxies = [ipaddress.ip_network(c, strict=False) for c in trusted_proxies]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if host_name(host) not in self.hosts:
            await _refuse(
                scope,
                receive,
                send,
                421,
                "host_not_allowed",
                f"This server does not answer for the host {host_name(host)!r}; add it to "
                "FRAMECAST_ALLOWED_HOSTS if it is a name of this server.",
            )
            return
        if self._cross_site(scope, headers, host):
            await _refuse(
                scope,
                receive,
                send,
                403,
                "cross_site_request",
                "This request came from another site; changes are accepted only from this server's own "
                "pages (or an origin in FRAMECAST_ALLOWED_ORIGINS).",
            )
            return
        await self.app(scope, receive, send)

    def _scheme(self, scope: Scope, headers: Headers) -> str:
        """The scheme the browser used: the connection's, or what a trusted proxy in front says it was
        (TLS ends at the proxy)."""
        scheme = {"ws": "http", "wss": "https"}.get(scope["scheme"], scope["scheme"])
        forwarded = headers.get("x-forwarded-proto")
        if forwarded in ("http", "https") and _peer_in(scope, self.proxies):
            return forwarded
        return str(scheme)

    def _cross_site(self, scope: Scope, headers: Headers, host: str) -> bool:
        if scope["type"] == "http" and scope["method"] in _SAFE_METHODS:
            return False
        origin = headers.get("origin")
        if origin is not None:
            origin = origin.strip().rstrip("/").lower()
            if origin in self.origins:
                return False
            if origin == "null":
                return True  # sandboxed frames, file:// pages, some redirects: never this server's page
            parts = urlsplit(origin)
            scheme = self._scheme(scope, headers)
            if parts.scheme != scheme:
                return True
            if not _same_authority(parts.netloc, host, scheme):
                return True
        return (
            headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site")
            and origin not in self.origins
        )
