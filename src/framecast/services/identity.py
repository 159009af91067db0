"""API keys and delivery tokens: make, list and revoke keys; turn a presented key or token into a Caller.

A key is ``fc_<20 hex: its id>_<secret>``: the id finds the row, the secret (32 random bytes) is checked
against its SHA-256 in constant time. A secret of that entropy needs no slow hash: a slow hash defends
guessable passwords, and nothing about 256 random bits is guessable. A delivery token is signed with a
service secret that the ledger keeps (so every replica shares it without configuration) by
``itsdangerous``; it names one project, its owner and an expiry. A page session is a random cookie whose
hash the ledger keeps, so it can be ended (``Sessions``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from framecast.domain.errors import InvalidInput, NotFound, Unauthenticated
from framecast.domain.identity import ApiKey, Caller
from framecast.domain.models import utcnow
from framecast.services.ports import KeyStore

KEY_PREFIX = "fc_"
_KEY = re.compile(r"^fc_([0-9a-f]{20})_([A-Za-z0-9_-]{43})$")
_OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,119}$")

TOKEN_PREFIX = "fct_"
DEFAULT_TOKEN_TTL_S = 3600
MAX_TOKEN_TTL_S = 24 * 3600
TOKEN_SECRET_NAME = "delivery-token-signing-key"
SESSION_PREFIX = "fcs_"
_SESSION = re.compile(r"^fcs_[A-Za-z0-9_-]{43}$")
SESSION_MAX_AGE_S = 30 * 24 * 3600


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_owner_name(owner: str) -> str:
    if not _OWNER.fullmatch(owner):
        raise InvalidInput(
            "An owner name is 1 to 120 letters, digits and . _ @ + - (starting with a letter or digit).",
            field="owner",
            code="invalid_owner",
        )
    return owner


class KeyService:
    """Make, list, revoke and check API keys.

    >>> key, secret = KeyService(store).create("ana", label="laptop")      # doctest: +SKIP
    >>> KeyService(store).authenticate(secret).owner                         # doctest: +SKIP
    'ana'
    """

    def __init__(self, store: KeyStore) -> None:
        self.store = store

    def create(self, owner: str, *, label: str = "", admin: bool = False) -> tuple[ApiKey, str]:
        """A new key; returns its record and the key itself (shown once: only its hash is stored)."""
        check_owner_name(owner)
        if len(label) > 200:
            raise InvalidInput("A key's label is at most 200 characters.", field="label")
        id_hex = secrets.token_hex(10)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(id=f"key_{id_hex}", owner=owner, secret_hash=_hash(secret), label=label, admin=admin)
        self.store.add_api_key(key)
        return key, f"{KEY_PREFIX}{id_hex}_{secret}"

    def list(self) -> list[ApiKey]:
        return self.store.api_keys()

    def revoke(self, key_id: str) -> ApiKey:
        key = self.store.api_key(key_id)
        if key is None:
            raise NotFound(f"No API key with id {key_id!r}.", code="key_not_found")
        if key.active:
            self.store.revoke_api_key(key_id, utcnow())
            key.revoked_at = utcnow()
        return key

    def active_key(self, key_id: str) -> ApiKey:
        """The key if it exists and is not revoked; Unauthenticated otherwise."""
        key = self.store.api_key(key_id)
        if key is None or not key.active:
            raise Unauthenticated("The API key is not valid (unknown, revoked or mistyped).")
        return key

    def authenticate(self, presented: str) -> Caller:
        """The caller a presented key stands for; Unauthenticated when it is malformed, unknown or revoked
        (one answer for all three, so a key's existence leaks nothing)."""
        match = _KEY.fullmatch(presented.strip())
        key = self.store.api_key(f"key_{match.group(1)}") if match else None
        if match is None or key is None or not key.active:
            raise Unauthenticated("The API key is not valid (unknown, revoked or mistyped).")
        if not hmac.compare_digest(key.secret_hash, _hash(match.group(2))):
            raise Unauthenticated("The API key is not valid (unknown, revoked or mistyped).")
        return Caller(owner=key.owner, admin=key.admin)


class _StoredSigner:
    """An itsdangerous serializer over a secret the ledger keeps (made on first use, shared by replicas);
    call it for the serializer."""

    def __init__(self, store: KeyStore, name: str, salt: str) -> None:
        self.store = store
        self.name = name
        self.salt = salt
        self._serializer: URLSafeSerializer | None = None

    def __call__(self) -> URLSafeSerializer:
        if self._serializer is None:
            secret = self.store.service_secret(self.name, lambda: secrets.token_hex(32))
            self._serializer = URLSafeSerializer(secret, salt=self.salt)
        return self._serializer


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


class DeliveryTokens:
    """Short-lived signed tokens that read one project (for a browser that cannot send headers)."""

    def __init__(self, store: KeyStore) -> None:
        self._signer = _StoredSigner(store, TOKEN_SECRET_NAME, "framecast.delivery-token.v1")

    def issue(self, project_id: str, owner: str, *, ttl_s: int | None = None) -> IssuedToken:
        ttl = DEFAULT_TOKEN_TTL_S if ttl_s is None else ttl_s
        if not 1 <= ttl <= MAX_TOKEN_TTL_S:
            raise InvalidInput(f"ttl_s must be between 1 and {MAX_TOKEN_TTL_S} seconds.", field="ttl_s")
        expires = (utcnow() + timedelta(seconds=ttl)).replace(microsecond=0)
        body = self._signer().dumps({"p": project_id, "o": owner, "e": int(expires.timestamp())})
        return IssuedToken(token=f"{TOKEN_PREFIX}{body}", expires_at=expires)

    def verify(self, token: str, *, now: datetime | None = None) -> Caller:
        """The caller a token stands for (its project only); Unauthenticated when it is tampered with,
        malformed or expired."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 1000:
            raise Unauthenticated("The delivery token is not valid.")
        try:
            payload = self._signer().loads(token.removeprefix(TOKEN_PREFIX))
        except BadSignature:
            raise Unauthenticated("The delivery token is not valid.") from None
        try:
            project_id, owner, expiry = str(payload["p"]), str(payload["o"]), int(payload["e"])
        except (KeyError, TypeError, ValueError):
            raise Unauthenticated("The delivery token is not valid.") from None
        if (now or utcnow()).timestamp() >= expiry:
            raise Unauthenticated("The delivery token has expired; ask for a new one.")
        return Caller(owner=owner, project_id=project_id)


class Sessions:
    """The page's sign-in: a key typed once becomes a session cookie (``fcs_`` and 32 random bytes; never
    the key itself). The ledger keeps a SHA-256 of each cookie with the key it was opened with, so signing
    out ends the session on every process (a copied cookie stops working too), and so does revoking the
    key (its sessions are deleted with it, and a session is believed only while its key is active)."""

    def __init__(self, store: KeyStore, keys: KeyService) -> None:
        self.store = store
        self.keys = keys

    def open(self, presented_key: str) -> tuple[str, Caller]:
        """The cookie value for a valid key, and who it signs in."""
        caller = self.keys.authenticate(presented_key)
        key_id = "key_" + presented_key.strip()[len(KEY_PREFIX) :].split("_", 1)[0]
        cookie = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        self.store.add_session(_hash(cookie), key_id, now, now + timedelta(seconds=SESSION_MAX_AGE_S))
        return cookie, caller

    def key_id(self, cookie: str) -> str:
        """The key an open session was made with; Unauthenticated when the session is unknown (malformed,
        forged, ended by signing out) or too old."""
        if not _SESSION.fullmatch(cookie):
            raise Unauthenticated("The session is not valid; sign in again.")
        key_id = self.store.session_key_id(_hash(cookie), utcnow())
        if key_id is None:
            raise Unauthenticated("The session has ended; sign in again.")
        return key_id

    def caller(self, cookie: str) -> Caller:
        """Who an open session signs in (its key must still be active); Unauthenticated otherwise."""
        key = self.keys.active_key(self.key_id(cookie))
        return Caller(owner=key.owner, admin=key.admin)

    def close(self, cookie: str) -> None:
        """Sign out: this session stops working everywhere (a malformed or unknown one: nothing to do)."""
        if _SESSION.fullmatch(cookie):
            self.store.end_session(_hash(cookie))
