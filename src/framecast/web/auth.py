"""Who is calling: one function turns a request's credentials into a ``Caller`` for every route and
transport (REST, SSE, polling, WebSocket, /media).

* ``none``: every request is the configured owner (serve listens on loopback only in this mode).
* ``keys``: ``Authorization: Bearer fc_…`` or the page's session cookie (``POST /api/session``).
* ``proxy``: the owner header, believed only from ``FRAMECAST_TRUSTED_PROXIES``; from anywhere else it is
  ignored, so a client that sends it straight to Framecast is unauthenticated.
* In every mode, routes that read one project also take a delivery token (``?token=fct_…`` or a Bearer
  token): it reads that project and nothing else.

Checked keys and sessions are remembered for ``CACHE_S`` seconds, so a thousand streams opening at once
cost one database read, not a thousand (the requests that miss together share one read). A revoked key,
and a session signed out on another replica, stop working within that time; a session signed out on this
process stops at once (``signed_out`` forgets it, and a check still running for it is not remembered).
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from framecast.domain.errors import FramecastError, InvalidInput, Unauthenticated
from framecast.domain.identity import AuthMode, Caller
from framecast.logs import annotate
from framecast.services.identity import TOKEN_PREFIX, DeliveryTokens, KeyService, Sessions, check_owner_name
from framecast.settings import Settings
from framecast.web.errors import error_response

SESSION_COOKIE = "framecast_session"
#: How long a checked key or session is believed without asking the ledger again.
CACHE_S = 5.0
_CACHE_LIMIT = 10_000

T = TypeVar("T")


#: How ``_identify`` asks for a remembered caller: the memo's ``get`` (reads the ledger on a miss) or
#: ``_remembered`` (raises _NotRemembered instead).
_Lookup = Callable[[str, Callable[[], Caller]], Caller]


class _NotRemembered(Exception):
    """Raised by ``Authenticator._remembered`` when the answer would need a ledger read."""


class _Flight:
    """One lookup in progress: the requests that miss while it runs wait for its answer instead of asking
    the ledger themselves."""

    __slots__ = ("done", "error", "forgotten", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: object = None
        self.error: BaseException | None = None
        #: ``forget`` ran while this lookup did: its answer goes to the requests that wait for it (they
        #: came before the forgetting) but is not remembered.
        self.forgotten = False


class _Recent:
    """A small time-bounded memo (thread-safe: dependencies run in the thread pool).

    Misses for one key share one lookup (single flight): a thousand streams opening together with a key
    the memo does not hold yet, or no longer holds, cost one ledger read, not one per thread that got
    there before the first read returned. A failed lookup is handed to the requests that waited for it
    and never remembered.
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._items: dict[str, tuple[float, object]] = {}
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    def peek(self, key: str) -> object | None:
        """What is remembered for ``key`` if it is still fresh, else None; never reads the ledger."""
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        return None

    def get(self, key: str, make: Callable[[], T]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
                return hit[1]  # type: ignore[return-value]
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                # Each waiter raises its own copy: one instance raised in many threads would gather all
                # their tracebacks.
                raise copy.copy(flight.error) from flight.error.__cause__
            return flight.value  # type: ignore[return-value]
        # The entry's age counts from before the read: a key revoked while the read runs is still
        # refused within ttl_s of the revocation.
        started = time.monotonic()
        try:
            value = make()  # raises for a bad credential
        except BaseException as exc:
            flight.error = exc
            raise
        else:
            flight.value = value
            return value
        finally:
            with self._lock:
                del self._flights[key]
                if flight.error is None and not flight.forgotten:
                    if len(self._items) >= _CACHE_LIMIT:
                        self._items.clear()
                    self._items[key] = (started, flight.value)
            flight.done.set()

    def forget(self, key: str) -> None:
        """Believe ``key`` no longer: the next request for it asks again."""
        with self._lock:
            self._items.pop(key, None)
            flight = self._flights.get(key)
            if flight is not None:
                flight.forgotten = True


class Authenticator:
    """Resolves the caller of a request (see the module docstring)."""

    def __init__(
        self, settings: Settings, keys: KeyService, sessions: Sessions, tokens: DeliveryTokens
    ) -> None:
        self.settings = settings
        self.mode = settings.auth
        self.keys = keys
        self.sessions = sessions
        self.tokens = tokens
        self._proxies = [ipaddress.ip_network(c, strict=False) for c in settings.trusted_proxies]
        self._recent = _Recent(CACHE_S)

    def caller(self, conn: HTTPConnection, *, allow_token: bool = False) -> Caller:
        """The caller, or Unauthenticated. ``allow_token``: this route reads one project, so a delivery
        token is accepted too. The request's later log records name the owner and the project."""
        caller = self._identify(conn, allow_token, self._recent.get)
        annotate(owner=caller.owner, project_id=conn.path_params.get("project_id") or caller.project_id)
        return caller

    def known_caller(self, conn: HTTPConnection, *, allow_token: bool = False) -> Caller | None:
        """``caller`` when it needs no ledger read (no auth, the proxy's header, a key, session or token
        checked within the last ``CACHE_S``), else None: the event loop can answer those itself, and only
        a miss goes to a thread (``web.deps``). Raises Unauthenticated as ``caller`` does."""
        try:
            caller = self._identify(conn, allow_token, self._remembered)
        except _NotRemembered:
            return None
        annotate(owner=caller.owner, project_id=conn.path_params.get("project_id") or caller.project_id)
        return caller

    def _remembered(self, key: str, _make: Callable[[], Caller]) -> Caller:
        hit = self._recent.peek(key)
        if not isinstance(hit, Caller):
            raise _NotRemembered
        return hit

    def _identify(self, conn: HTTPConnection, allow_token: bool, lookup: _Lookup) -> Caller:
        # Only keys mode reads Authorization as its own: in none and proxy mode a header of another scheme
        # (nginx auth_basic's Basic, a proxy's Negotiate) belongs to whatever sits in front, not to us.
        bearer = _bearer(conn, strict=self.mode is AuthMode.KEYS)
        if bearer is not None and bearer.startswith(TOKEN_PREFIX):
            return self._token(bearer, allow_token, lookup)
        token = conn.query_params.get("token")
        if token is not None and bearer is None:
            return self._token(token, allow_token, lookup)
        if self.mode is AuthMode.NONE:
            return Caller(owner=self.settings.owner)
        if self.mode is AuthMode.PROXY:
            return self._proxied(conn)
        if bearer is not None:
            return lookup("key:" + bearer, lambda: self.keys.authenticate(bearer))
        cookie = conn.cookies.get(SESSION_COOKIE)
        if cookie:
            return self._session(cookie, lookup)
        raise Unauthenticated(
            "Sign in: send Authorization: Bearer <API key> (framecast keys create --owner NAME makes one)."
        )

    def _token(self, token: str, allowed: bool, lookup: _Lookup) -> Caller:
        if not allowed:
            raise Unauthenticated("A delivery token only reads its project; this request needs an API key.")
        return lookup("token:" + token, lambda: self.tokens.verify(token))

    def _session(self, cookie: str, lookup: _Lookup) -> Caller:
        return lookup("session:" + cookie, lambda: self.sessions.caller(cookie))

    def sign_out(self, cookie: str) -> None:
        """End the session on every process (the ledger forgets it) and stop believing it here at once;
        other processes stop within ``CACHE_S``."""
        self.sessions.close(cookie)
        self._recent.forget("session:" + cookie)

    def _proxied(self, conn: HTTPConnection) -> Caller:
        # Exactly one: a proxy that adds its header instead of replacing the client's sends two, and the
        # first may be the client's own.
        names = conn.headers.getlist(self.settings.proxy_user_header)
        name = names[0] if len(names) == 1 else None
        if name and self._from_trusted_proxy(conn):
            try:
                return Caller(owner=check_owner_name(name.strip()))
            except InvalidInput:
                pass  # a name Framecast cannot use is no identity
        raise Unauthenticated("Sign in through the site's login (the identity proxy did not name a user).")

    def _from_trusted_proxy(self, conn: HTTPConnection) -> bool:
        if conn.client is None:
            return False
        try:
            peer = ipaddress.ip_address(conn.client.host)
        except ValueError:
            return False
        return any(peer in network for network in self._proxies)

    def secure_cookies(self, conn: HTTPConnection) -> bool:
        """Mark cookies Secure when the page was reached over https (directly, or through a trusted proxy
        that says so)."""
        if conn.url.scheme in ("https", "wss"):
            return True
        return conn.headers.get("x-forwarded-proto") == "https" and self._from_trusted_proxy(conn)


def _bearer(conn: HTTPConnection, *, strict: bool) -> str | None:
    """The Bearer credential; another scheme is refused when ``strict``, else not ours (None)."""
    header = conn.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        if not strict:
            return None
        raise Unauthenticated("The Authorization header must be 'Bearer <API key>'.")
    return value.strip()


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuthenticateBeforeTheBody:
    """ASGI middleware (keys and proxy mode): a request that may carry a body (any method but GET, HEAD and
    OPTIONS) is authenticated from its head alone, before a byte of the body is read. Without it the
    framework reads and parses the whole body (and spools an upload to disk, up to 25 MB) before the
    route's dependency says 401, so anyone who reaches the port could make the server take in bodies, or
    hold a connection with one sent a byte at a time, for nothing. The route checks the caller again
    (from the cache) and decides what that caller may do; a delivery token passes here, and the route
    answers it. ``POST /api/session`` (signing in) is the one change made without a credential."""

    def __init__(self, app: ASGIApp, *, authenticator: Authenticator, public: frozenset[str]) -> None:
        self.app = app
        self.auth = authenticator
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.auth.mode is not AuthMode.NONE
            and scope["method"] not in _READS
            and scope["path"] not in self.public
        ):
            conn = HTTPConnection(scope)
            try:
                await asyncio.to_thread(self.auth.caller, conn, allow_token=True)
            except Unauthenticated as exc:
                await error_response(exc, f"{scope['method']} {scope['path']}")(scope, receive, send)
                return
            except FramecastError:
                pass  # an outage: the route meets it too, and answers it
        await self.app(scope, receive, send)
