"""Webhooks, pure: the events a receiver can ask for, the endpoint, delivery and attempt records, which
URLs and addresses may receive, and the retry schedule.

Nothing here does I/O: resolving a name and connecting is the sender adapter's (``webhooks/http.py``),
storing is the ledger's. The address rule and the backoff are plain functions so they are tested alone.

>>> retry_delay_s(1, 0.0, rand=lambda: 0.5)
5.0
>>> address_allowed(ipaddress.ip_address("169.254.169.254"))
False
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic_core import PydanticCustomError

from framecast.domain.events import EventType
from framecast.domain.models import JSON, Event, iso, utcnow

MAX_URL_CHARS = 2000
MAX_DESCRIPTION_CHARS = 500
SECRET_PREFIX = "whsec_"
#: After a rotation the old secret still signs (beside the new one) for this long, unless told otherwise.
DEFAULT_ROTATION_GRACE_S = 24 * 3600
#: The longest grace a rotation may give the old secret: a week.
MAX_ROTATION_GRACE_S = 7 * 24 * 3600
#: The code of every refused webhook URL, at creation (422) and at send time (an attempt's error).
URL_NOT_ALLOWED = "webhook_url_not_allowed"


class WebhookEvent(StrEnum):
    """What a receiver can subscribe to; the payload's ``type`` is ``project.<event>``."""

    STARTED = "started"  # the project began running (again, after a retry)
    FILE = "file"  # a file of the project was stored (poster, video, ...)
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def type(self) -> str:
        return f"project.{self.value}"


#: What a webhook gets when it names no events: the three endings.
DEFAULT_EVENTS: tuple[WebhookEvent, ...] = (
    WebhookEvent.COMPLETED,
    WebhookEvent.FAILED,
    WebhookEvent.CANCELLED,
)

_BY_STATUS = {
    "running": WebhookEvent.STARTED,
    "completed": WebhookEvent.COMPLETED,
    "failed": WebhookEvent.FAILED,
    "cancelled": WebhookEvent.CANCELLED,
}


def webhook_event_for(event: Event) -> WebhookEvent | None:
    """The webhook event a log event stands for: a ``project_status`` that started or ended a run, or a
    ``file``; None for everything else (progress, task changes, queued)."""
    if event.type == EventType.FILE:
        return WebhookEvent.FILE
    if event.type == EventType.PROJECT_STATUS:
        return _BY_STATUS.get(str(event.data.get("status")))
    return None


def normalise_events(events: Iterable[str] | None) -> list[str]:
    """The events as stored: the defaults for None, each known event once, in the order given."""
    if events is None:
        return [e.value for e in DEFAULT_EVENTS]
    out: list[str] = []
    for item in events:
        value = WebhookEvent(item).value
        if value not in out:
            out.append(value)
    return out


class DeliveryState(StrEnum):
    """``pending``: waiting for its next attempt; ``delivered``: a 2xx came back; ``failed``: given up
    (a day of retries, a 410, or its endpoint was removed)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass
class WebhookEndpoint:
    """Where events go. An owner's endpoint (``project_id`` None) gets the events of all their projects
    and signs with its own ``secret``; a project's webhook (``project_id`` set, from ``POST
    /api/projects``) gets that project's and signs with the service's secret (``secret`` None)."""

    id: str
    owner: str
    url: str
    events: list[str]
    secret: str | None = None
    description: str | None = None
    project_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    #: Set when a receiver answered 410 Gone: nothing more is sent to it.
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    #: The secret a rotation replaced, which still signs beside ``secret`` until ``previous_secret_until``.
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def secrets_at(self, now: datetime) -> list[str]:
        """The secrets that sign a delivery sent at ``now``: the current one, and during a rotation's grace
        the one it replaced (a receiver that knows either accepts). Empty for a project's own webhook."""
        found = [self.secret] if self.secret else []
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            found.append(self.previous_secret)
        return found

    def wants(self, event: WebhookEvent) -> bool:
        return self.active and event.value in self.events

    def public(self) -> JSON:
        """As the API shows it: never the secret (that is shown once, when the endpoint is made)."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "description": self.description,
            "created_at": iso(self.created_at),
            "disabled_at": iso(self.disabled_at),
            "disabled_reason": self.disabled_reason,
        }


@dataclass(frozen=True)
class Attempt:
    """One try at a delivery: the receiver's status (None when no answer came), how long it took, and
    what went wrong (None for a 2xx)."""

    at: datetime
    status_code: int | None
    latency_ms: float | None
    error: str | None = None

    def public(self) -> JSON:
        return {
            "at": iso(self.at),
            "status_code": self.status_code,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "error": self.error,
        }


@dataclass
class Delivery:
    """One event for one endpoint: its body, fixed when the event was recorded (every retry sends the same
    bytes under the same ``message_id``, the ``webhook-id`` header), and where it stands."""

    id: str
    project_id: str
    endpoint_id: str
    message_id: str
    type: str
    url: str
    payload: str
    state: DeliveryState = DeliveryState.PENDING
    created_at: datetime = field(default_factory=utcnow)
    next_attempt_at: datetime | None = None
    #: When the current retry schedule began (its first attempt); a redelivery starts a new one.
    window_started_at: datetime | None = None
    #: Failed attempts in the current schedule.
    tries: int = 0
    #: Oldest first; loaded by ``WebhookStore.delivery`` and ``deliveries``, empty from ``deliveries_due``.
    attempts: list[Attempt] = field(default_factory=list)

    def public(self) -> JSON:
        return {
            "id": self.id,
            "webhook_id": self.message_id,
            "endpoint_id": self.endpoint_id,
            "type": self.type,
            "url": self.url,
            "state": self.state.value,
            "created_at": iso(self.created_at),
            "next_attempt_at": iso(self.next_attempt_at),
            "attempts": [a.public() for a in self.attempts],
        }


# -- which URLs and addresses may receive ------------------------------------------------------------

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud metadata services (AWS, GCP, Azure, ... at 169.254.169.254; AWS's IPv6 one). Link-local and
#: unique-local already cover them; named anyway, so the rule cannot lose them by a change of ranges.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class WebhookTarget:
    scheme: str
    host: str
    port: int


def parse_webhook_url(url: str) -> WebhookTarget:
    """The scheme, host and port of an acceptable webhook URL: ``http`` or ``https``, a host, at most 2000
    characters. Raises ValueError with a sentence saying what is wrong."""
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"a webhook URL is at most {MAX_URL_CHARS} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValueError("a webhook URL cannot contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"the webhook URL is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("a webhook URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("a webhook URL must name a host")
    return WebhookTarget(scheme, parts.hostname, port or (443 if scheme == "https" else 80))


def valid_webhook_url(url: str) -> str:
    """A pydantic validator: ``url`` if ``parse_webhook_url`` accepts it; otherwise a validation error
    whose type is ``webhook_url_not_allowed`` (the web layer answers 422 with that code)."""
    try:
        parse_webhook_url(url)
    except ValueError as exc:
        raise PydanticCustomError(URL_NOT_ALLOWED, "{reason}", {"reason": str(exc)}) from None
    return url


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), which is where it leads."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: IpAddress) -> str | None:
    """Why a webhook may not be sent to ``address`` (None: it may): only globally routable unicast
    addresses receive, so no loopback, private, shared, link-local, multicast, unspecified, reserved or
    documentation address, and no cloud metadata service."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return address_refusal(inner)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for kind, test in (
        ("a loopback", address.is_loopback),
        ("an unspecified", address.is_unspecified),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
    ):
        if test:
            return f"{kind} address"
    if not address.is_global:
        return "a non-public address"
    return None


def address_allowed(address: IpAddress) -> bool:
    return address_refusal(address) is None


# -- the retry schedule ---------------------------------------------------------------------------------

#: Seconds before each retry: after the first failure 5 s, then 30 s, 2 min, 10 min, 1 h ...
RETRY_SCHEDULE_S: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0, 3600.0)
#: ... then every 3 hours ...
RETRY_EVERY_S = 3 * 3600.0
#: ... until a day after the first attempt, where one last attempt is made and then the delivery fails.
GIVE_UP_AFTER_S = 24 * 3600.0
#: Each delay is spread by up to ±20 %, so receivers that failed together are not retried together.
JITTER = 0.2


def retry_delay_s(
    tries: int, elapsed_s: float, *, scale: float = 1.0, rand: Callable[[], float] = random.random
) -> float | None:
    """Seconds to wait after the ``tries``-th failed attempt of a schedule that began ``elapsed_s`` ago,
    or None to give up. ``scale`` shrinks the whole schedule, window included (tests); ``rand`` returns
    0..1 for the jitter.

    >>> [round(retry_delay_s(n, 0.0, rand=lambda: 0.5)) for n in (1, 2, 3, 4, 5, 6, 9)]
    [5, 30, 120, 600, 3600, 10800, 10800]
    >>> retry_delay_s(13, 23.5 * 3600, rand=lambda: 0.5)   # the last one lands at the day's end
    1800.0
    >>> retry_delay_s(14, 24 * 3600, rand=lambda: 0.5) is None
    True
    """
    window = GIVE_UP_AFTER_S * scale
    if elapsed_s >= window:
        return None
    index = max(tries, 1) - 1
    base = RETRY_SCHEDULE_S[index] if index < len(RETRY_SCHEDULE_S) else RETRY_EVERY_S
    delay = base * scale * (1.0 - JITTER + 2 * JITTER * rand())
    return min(delay, window - elapsed_s)
