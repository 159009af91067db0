"""Verifying Framecast's webhooks (Standard Webhooks 1.0) on the receiving side.

``verify`` checks the three ``webhook-*`` headers, the timestamp's age and the ``v1`` signature of the raw
body with the ``standardwebhooks`` package, against one secret or several (a receiver rotating its secret
accepts the old and the new one for a while), and returns the delivery as a typed :class:`WebhookEvent`.

>>> event = verify(body, request.headers, [new_secret, old_secret])       # doctest: +SKIP
>>> event.type, event.project_id, event.data["status"]                    # doctest: +SKIP
('project.completed', 'prj_…', 'completed')

Anything wrong raises :class:`WebhookVerificationError` (a subclass of the ``standardwebhooks`` one, so
existing ``except`` clauses keep working), with ``reason`` saying what: ``missing_header``,
``bad_timestamp``, ``timestamp_too_old``, ``timestamp_too_new``, ``bad_signature`` or ``bad_payload``.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import webhooks as standard

__all__ = ["DEFAULT_TOLERANCE_S", "WebhookEvent", "WebhookVerificationError", "verify"]

#: How far a delivery's ``webhook-timestamp`` may be from the receiver's clock (Standard Webhooks' 5 min).
DEFAULT_TOLERANCE_S = 300.0

_REQUIRED = ("webhook-id", "webhook-timestamp", "webhook-signature")


class WebhookVerificationError(standard.WebhookVerificationError):
    """Raised when a delivery is not proven to be Framecast's: a header is missing, the timestamp is
    outside the tolerance, no signature matches any of the secrets, or the verified body is not a
    Framecast payload. Answer such a request with 400 and do not act on it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class WebhookEvent:
    """One verified delivery: ``type`` (``project.completed``…), ``timestamp`` (when the change
    happened), ``data`` (the project snapshot as ``GET /api/projects/{id}`` showed it then; a
    ``project.file`` also has ``data["file"]``) and ``id``, the ``webhook-id`` that is the same on every
    retry of this event: drop duplicates by it."""

    id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]

    @property
    def project_id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def status(self) -> str:
        return str(self.data.get("status", ""))

    @property
    def file(self) -> dict[str, Any] | None:
        """The file a ``project.file`` announces (None for the other types)."""
        found = self.data.get("file")
        return found if isinstance(found, dict) else None


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    missing = [name for name in _REQUIRED if not lowered.get(name)]
    if missing:
        raise WebhookVerificationError(
            "missing_header", f"The request has no {', '.join(missing)} header: not a signed webhook."
        )
    return lowered


def _timestamp(value: str, tolerance_s: float, now: float) -> datetime:
    if not value.isascii() or not value.isdigit():
        raise WebhookVerificationError(
            "bad_timestamp", f"webhook-timestamp {value[:40]!r} is not Unix seconds."
        )
    sent = int(value)
    if sent < now - tolerance_s:
        raise WebhookVerificationError(
            "timestamp_too_old",
            f"The delivery was signed {now - sent:.0f} s ago, more than the {tolerance_s:g} s allowed "
            "(a replay, or this machine's clock is wrong).",
        )
    if sent > now + tolerance_s:
        raise WebhookVerificationError(
            "timestamp_too_new",
            f"The delivery is dated {sent - now:.0f} s in the future, more than the {tolerance_s:g} s "
            "allowed (a clock is wrong).",
        )
    return datetime.fromtimestamp(sent, tz=UTC)


def _signed_by(secret: str, message_id: str, signed_at: datetime, body: str, passed: list[str]) -> bool:
    try:
        expected = standard.Webhook(secret).sign(message_id, signed_at, body).encode()
    except (ValueError, standard.EmptyWebhookSecretError) as exc:
        raise ValueError(f"not a webhook secret (whsec_ and base64): {exc}") from None
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in passed)


def _event(message_id: str, body: str) -> WebhookEvent:
    try:
        payload = json.loads(body)
        kind, stamp, data = payload["type"], payload["timestamp"], payload["data"]
        if not isinstance(kind, str) or not isinstance(data, dict):
            raise TypeError("type must be a string and data an object")
        happened = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookVerificationError(
            "bad_payload", f"The signed body is not a Framecast webhook payload ({exc})."
        ) from None
    return WebhookEvent(id=message_id, type=kind, timestamp=happened, data=data)


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> WebhookEvent:
    """The delivery in ``payload`` (the raw body, before any JSON parsing) if one of the secrets signed it
    within ``tolerance`` seconds of ``now`` (default: this machine's clock); raises
    :class:`WebhookVerificationError` otherwise, and ``ValueError`` for a secret that is not one.

    ``secret``: the receiver's secret (``whsec_…``: an endpoint's own, or ``FRAMECAST_WEBHOOK_SECRET``
    for projects' own webhooks), or a list of them while one is being rotated.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise ValueError("verify() needs at least one secret")
    found = _headers(headers)
    signed_at = _timestamp(found["webhook-timestamp"], tolerance, time.time() if now is None else now)
    try:
        body = payload if isinstance(payload, str) else payload.decode()
    except UnicodeDecodeError:
        raise WebhookVerificationError("bad_payload", "The body is not UTF-8 text.") from None
    # Several signatures may travel, space-separated (the sender's own rotation); only v1 is defined.
    passed = [s for s in found["webhook-signature"].split() if s.startswith("v1,")]
    message_id = found["webhook-id"]
    if not any(_signed_by(s, message_id, signed_at, body, passed) for s in secrets):
        raise WebhookVerificationError(
            "bad_signature",
            "No webhook-signature matches the secret"
            + ("s" if len(secrets) > 1 else "")
            + ": the body or headers were changed, or it was signed with another secret.",
        )
    return _event(message_id, body)
