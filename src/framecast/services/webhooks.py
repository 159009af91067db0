"""Webhook use cases: an owner's endpoints, a project's own webhook, the outbox of deliveries, sending them
with retries, and the deliveries API.

How a delivery travels:

1. **Recorded with the change.** ``record`` runs inside every ledger transaction that appended events (the
   ledger's before-commit hook). A ``project_status`` that starts or ends a run, or a ``file``, becomes
   one delivery row per subscribed endpoint, with its body (the project snapshot as of this transaction)
   and a ``webhook-id`` fixed now. The rows commit or roll back with the change: no state change is
   without its webhooks, no webhook is without its change.
2. **Claimed.** The sender loop (one leader among the ``serve`` replicas) takes due rows and pushes their
   next attempt ``CLAIM_LEASE_S`` ahead before sending: a sender that dies mid-send leaves the row to be
   tried again after the lease, under the same ``webhook-id``.
3. **Sent and recorded.** Each attempt is stored; a 2xx delivers, a 410 disables the endpoint (or stops
   the project's webhook), anything else retries on ``domain.webhooks.retry_delay_s``'s schedule for
   about a day, then the delivery fails.

>>> service = WebhookService(ledger, sender, keys, snapshots)                 # doctest: +SKIP
>>> endpoint = service.create_endpoint(Caller("ana"), "https://ci.example/hook")  # doctest: +SKIP
>>> endpoint.secret                                                            # doctest: +SKIP
'whsec_…'
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from framecast.domain.errors import Conflict, InvalidInput, NotFound, WebhookUrlNotAllowed
from framecast.domain.identity import Caller
from framecast.domain.models import Event, iso, new_id, utcnow
from framecast.domain.webhooks import (
    DEFAULT_ROTATION_GRACE_S,
    MAX_DESCRIPTION_CHARS,
    MAX_ROTATION_GRACE_S,
    SECRET_PREFIX,
    Attempt,
    Delivery,
    DeliveryState,
    WebhookEndpoint,
    WebhookEvent,
    normalise_events,
    parse_webhook_url,
    retry_delay_s,
    webhook_event_for,
)
from framecast.services.access import owned_endpoint, owned_project, visible_project, writer
from framecast.services.metrics import count_webhook_delivery
from framecast.services.ports import KeyStore, Ledger, LedgerSession, WebhookMessage, WebhookSender
from framecast.services.snapshots import SnapshotView

log = logging.getLogger(__name__)

#: The ledger's name for the generated service-wide secret (when FRAMECAST_WEBHOOK_SECRET is unset).
SERVICE_SECRET_NAME = "webhook-signing-secret"
#: The ledger's name for the generated secret that ``framecast webhooks rotate-secret`` replaced: it signs
#: beside the new one until its ``expires_at``.
PREVIOUS_SERVICE_SECRET_NAME = "webhook-signing-secret-previous"
#: A claimed delivery is not claimed again for this long: longer than one send may take (10 s), so only a
#: sender that died mid-send leaves it to the next claim.
CLAIM_LEASE_S = 30.0
MAX_ENDPOINTS_PER_OWNER = 20


def new_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _grace(grace_s: float) -> timedelta:
    if not 0 <= grace_s <= MAX_ROTATION_GRACE_S:
        raise InvalidInput(f"grace_s is 0 to {MAX_ROTATION_GRACE_S} seconds (a week).", field="grace_s")
    return timedelta(seconds=grace_s)


def rotate_service_secret(
    keys: KeyStore,
    grace_s: float = DEFAULT_ROTATION_GRACE_S,
    *,
    clock: Callable[[], datetime] = utcnow,
    from_settings: bool = False,
) -> tuple[str, datetime | None]:
    """Replace the ledger-kept service secret (``framecast webhooks rotate-secret``): the new one, and
    until when the old one still signs beside it (None: it stopped at once). Conflict when the secret comes
    from FRAMECAST_WEBHOOK_SECRET (``from_settings``): that one is rotated in the settings."""
    grace = _grace(grace_s)
    if from_settings:
        raise Conflict(
            "The service's webhook secret comes from FRAMECAST_WEBHOOK_SECRET: rotate it there (the new "
            "one in FRAMECAST_WEBHOOK_SECRET, the old one in FRAMECAST_WEBHOOK_SECRET_PREVIOUS).",
            code="webhook_secret_from_settings",
        )
    secret = new_secret()
    until = clock() + grace if grace_s > 0 else None
    keys.service_secret(SERVICE_SECRET_NAME, new_secret)  # there is one to keep, even if never used yet
    keys.rotate_service_secret(
        SERVICE_SECRET_NAME, secret, previous_name=PREVIOUS_SERVICE_SECRET_NAME, previous_until=until
    )
    return secret, until


class WebhookService:
    """The webhook use cases over the ledger (``tx.webhooks``), the HTTP sender and the key store (which
    keeps the generated service secret, so every replica signs alike)."""

    def __init__(
        self,
        ledger: Ledger,
        sender: WebhookSender,
        keys: KeyStore,
        snapshots: SnapshotView,
        *,
        service_secret: str | None = None,
        service_secret_previous: str | None = None,
        retry_scale: float = 1.0,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ledger = ledger
        self.sender = sender
        self.keys = keys
        self.snapshots = snapshots
        self._service_secret = service_secret
        self._service_secret_previous = service_secret_previous if service_secret else None
        self.retry_scale = retry_scale
        self.rand = rand
        self.clock = clock

    # -- endpoints --------------------------------------------------------------------------------------

    def _check_url(self, url: str) -> None:
        try:
            parse_webhook_url(url)
        except ValueError as exc:
            raise WebhookUrlNotAllowed(f"{exc}.", field="url") from None
        self.sender.check_url(url)

    def create_endpoint(
        self,
        caller: Caller,
        url: str,
        events: list[str] | None = None,
        description: str | None = None,
    ) -> WebhookEndpoint:
        """A new endpoint of the caller's; the returned record carries its secret, shown this once."""
        owner = writer(caller)
        if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
            raise InvalidInput(
                f"A webhook's description is at most {MAX_DESCRIPTION_CHARS} characters.", field="description"
            )
        self._check_url(url)
        endpoint = WebhookEndpoint(
            id=new_id("whk"),
            owner=owner,
            url=url,
            events=normalise_events(events),
            secret=new_secret(),
            description=description,
            created_at=self.clock(),
        )
        with self.ledger.transaction() as tx:
            if len(tx.webhooks.endpoints(owner)) >= MAX_ENDPOINTS_PER_OWNER:
                raise Conflict(
                    f"You have {MAX_ENDPOINTS_PER_OWNER} webhooks, the most one owner may have; delete one "
                    "first.",
                    code="too_many_webhooks",
                )
            tx.webhooks.add_endpoint(endpoint)
        return endpoint

    def list_endpoints(self, caller: Caller) -> list[WebhookEndpoint]:
        with self.ledger.read() as tx:
            return tx.webhooks.endpoints(writer(caller))

    def delete_endpoint(self, caller: Caller, endpoint_id: str) -> None:
        """Remove one of the caller's endpoints; its pending deliveries fail (they stay listed)."""
        with self.ledger.transaction() as tx:
            endpoint = owned_endpoint(tx, endpoint_id, caller)
            self._stop_pending(tx, endpoint.id, "not sent: the webhook was deleted")
            tx.webhooks.delete_endpoint(endpoint.id)

    def project_endpoint(
        self, owner: str, project_id: str, url: str, events: list[str] | None
    ) -> WebhookEndpoint:
        """A project's own webhook (``POST /api/projects`` with ``webhook``), its URL checked now; the
        caller stores it in the transaction that creates the project."""
        self._check_url(url)
        return WebhookEndpoint(
            id=new_id("whk"),
            owner=owner,
            url=url,
            events=normalise_events(events),
            project_id=project_id,
            created_at=self.clock(),
        )

    def signing_secret(self) -> str:
        """The service-wide secret that signs projects' own webhooks: FRAMECAST_WEBHOOK_SECRET, or one
        made once and kept in the ledger (read each time: ``framecast webhooks rotate-secret`` may have
        replaced it from another process)."""
        if self._service_secret is not None:
            return self._service_secret
        return self.keys.service_secret(SERVICE_SECRET_NAME, new_secret)

    def signing_secrets(self) -> list[str]:
        """Every secret that signs projects' own webhooks now: the current one first, then during a
        rotation the previous one (FRAMECAST_WEBHOOK_SECRET_PREVIOUS while it is set, or the ledger-kept
        secret ``rotate-secret`` replaced, until its grace ends)."""
        current = self.signing_secret()
        if self._service_secret is not None:
            previous = self._service_secret_previous
            return [current, previous] if previous and previous != current else [current]
        kept = self.keys.kept_service_secret(PREVIOUS_SERVICE_SECRET_NAME)
        if kept is None:
            return [current]
        value, until = kept
        if value == current or (until is not None and self.clock() >= until):
            return [current]
        return [current, value]

    def rotate_endpoint_secret(
        self, caller: Caller, endpoint_id: str, grace_s: float = DEFAULT_ROTATION_GRACE_S
    ) -> WebhookEndpoint:
        """Give one of the caller's endpoints a new secret, returned this once (``endpoint.secret``). For
        ``grace_s`` the old one still signs beside it (0: not at all); the one an earlier rotation kept is
        dropped. Deliveries already recorded, retries included, are signed with the secrets of the moment
        they are sent."""
        grace = _grace(grace_s)
        secret = new_secret()
        with self.ledger.transaction() as tx:
            endpoint = owned_endpoint(tx, endpoint_id, caller)
            until = self.clock() + grace if grace_s > 0 else None
            previous = endpoint.secret if until is not None else None
            tx.webhooks.rotate_secret(endpoint.id, secret, previous, until)
        endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_until = secret, previous, until
        return endpoint

    def rotate_service_secret(self, grace_s: float = DEFAULT_ROTATION_GRACE_S) -> tuple[str, datetime | None]:
        """``rotate_service_secret`` over this service's key store and clock."""
        return rotate_service_secret(
            self.keys, grace_s, clock=self.clock, from_settings=self._service_secret is not None
        )

    # -- the outbox -------------------------------------------------------------------------------------

    def record(self, tx: LedgerSession, events: list[Event]) -> int:
        """Write the deliveries that ``events`` (appended in ``tx``) call for, in ``tx``; returns how
        many. The ledger calls this before every commit that appended events."""
        wanted: dict[str, list[tuple[Event, WebhookEvent]]] = {}
        for event in events:
            kind = webhook_event_for(event)
            if kind is not None:
                wanted.setdefault(event.project_id, []).append((event, kind))
        rows: list[Delivery] = []
        now = self.clock()
        for project_id, items in wanted.items():
            try:
                project = tx.project(project_id)
            except NotFound:
                continue  # deleted in this same transaction: nothing to tell
            endpoints = [e for e in tx.webhooks.endpoints(project.owner, project_id=project_id) if e.active]
            if not endpoints:
                continue
            snapshot = None
            for event, kind in items:
                targets = [e for e in endpoints if e.wants(kind)]
                if not targets:
                    continue
                if snapshot is None:
                    snapshot = self.snapshots.build(tx, project)
                data = snapshot
                if kind is WebhookEvent.FILE:
                    data = {**snapshot, "file": event.data.get("asset")}
                body = json.dumps(
                    {"type": kind.type, "timestamp": iso(event.ts), "data": data},
                    separators=(",", ":"),
                    ensure_ascii=False,
                )
                message_id = new_id("msg")
                rows.extend(
                    Delivery(
                        id=new_id("dlv"),
                        project_id=project_id,
                        endpoint_id=endpoint.id,
                        message_id=message_id,
                        type=kind.type,
                        url=endpoint.url,
                        payload=body,
                        created_at=now,
                        next_attempt_at=now,
                    )
                    for endpoint in targets
                )
        tx.webhooks.add_deliveries(rows)
        return len(rows)

    # -- sending ----------------------------------------------------------------------------------------

    def claim_due(self, limit: int = 50) -> list[Delivery]:
        """Due deliveries, each claimed for ``CLAIM_LEASE_S`` (its next attempt moved past the lease)."""
        now = self.clock()
        with self.ledger.read() as tx:
            if not tx.webhooks.deliveries_due(now, 1):
                return []  # the usual case: one indexed read, no write lock taken
        with self.ledger.transaction() as tx:
            due = tx.webhooks.deliveries_due(now, limit)
            lease = now + timedelta(seconds=CLAIM_LEASE_S)
            for delivery in due:
                tx.webhooks.update_delivery(delivery.id, next_attempt_at=lease)
        return due

    def attempt(self, delivery: Delivery) -> DeliveryState:
        """Send one claimed delivery once and record the attempt; returns where the delivery stands."""
        with self.ledger.read() as tx:
            endpoint = tx.webhooks.endpoint(delivery.endpoint_id)
        if endpoint is None or not endpoint.active:
            why = "was deleted" if endpoint is None else f"is disabled ({endpoint.disabled_reason})"
            with self.ledger.transaction() as tx:
                if tx.webhooks.delivery(delivery.id) is not None:
                    self._fail(tx, delivery.id, f"not sent: the webhook {why}")
            return DeliveryState.FAILED
        # The secrets of now, not of when the delivery was recorded: a retry after a rotation is signed
        # with the new secret (and the old one during its grace), under the same webhook-id.
        started = self.clock()
        signing, *also = endpoint.secrets_at(started) if endpoint.secret else self.signing_secrets()
        result = self.sender.send(
            WebhookMessage(delivery.url, delivery.message_id, delivery.payload, signing, tuple(also))
        )
        attempt = Attempt(started, result.status_code, result.latency_ms, result.error)
        with self.ledger.transaction() as tx:
            current = tx.webhooks.delivery(delivery.id)
            if current is None:
                return DeliveryState.FAILED  # its project was deleted while we sent
            tx.webhooks.add_attempt(delivery.id, attempt)
            if result.ok:
                count_webhook_delivery(tx, "delivered")
                tx.webhooks.update_delivery(delivery.id, state=DeliveryState.DELIVERED, next_attempt_at=None)
                return DeliveryState.DELIVERED
            if result.status_code == 410:
                count_webhook_delivery(tx, "gone")
                self._gone(tx, current, endpoint)
                return DeliveryState.FAILED
            window = current.window_started_at or started
            tries = current.tries + 1
            elapsed = (self.clock() - window).total_seconds()
            delay = retry_delay_s(tries, elapsed, scale=self.retry_scale, rand=self.rand)
            count_webhook_delivery(tx, "failed" if delay is None else "retried")
            if delay is None:
                log.warning(
                    "webhook %s to %s failed for good after %d attempts", delivery.id, delivery.url, tries
                )
                tx.webhooks.update_delivery(
                    delivery.id,
                    state=DeliveryState.FAILED,
                    next_attempt_at=None,
                    tries=tries,
                    window_started_at=window,
                )
                return DeliveryState.FAILED
            tx.webhooks.update_delivery(
                delivery.id,
                next_attempt_at=self.clock() + timedelta(seconds=delay),
                tries=tries,
                window_started_at=window,
            )
            return DeliveryState.PENDING

    def _gone(self, tx: LedgerSession, delivery: Delivery, endpoint: WebhookEndpoint) -> None:
        """410 Gone: the receiver asks for nothing more; the endpoint (or the project's webhook) stops."""
        now = self.clock()
        reason = f"the receiver answered 410 Gone at {iso(now)}"
        log.info("webhook %s answered 410; disabling %s", endpoint.url, endpoint.id)
        tx.webhooks.update_delivery(delivery.id, state=DeliveryState.FAILED, next_attempt_at=None)
        tx.webhooks.disable_endpoint(endpoint.id, now, reason)
        self._stop_pending(tx, endpoint.id, f"not sent: the webhook is disabled ({reason})")

    def _fail(self, tx: LedgerSession, delivery_id: str, error: str) -> None:
        tx.webhooks.add_attempt(delivery_id, Attempt(self.clock(), None, None, error))
        tx.webhooks.update_delivery(delivery_id, state=DeliveryState.FAILED, next_attempt_at=None)

    def _stop_pending(self, tx: LedgerSession, endpoint_id: str, error: str) -> None:
        for pending in tx.webhooks.pending_deliveries(endpoint_id):
            self._fail(tx, pending.id, error)

    # -- the deliveries API -----------------------------------------------------------------------------

    def deliveries(self, project_id: str, *, caller: Caller) -> list[Delivery]:
        with self.ledger.read() as tx:
            visible_project(tx, project_id, caller)
            return tx.webhooks.deliveries(project_id)

    def redeliver(self, project_id: str, delivery_id: str, *, caller: Caller) -> Delivery:
        """Queue a delivery again now, with the same body and ``webhook-id``, on a fresh retry schedule
        (owner only). 409 ``webhook_disabled`` when its endpoint is gone or disabled."""
        with self.ledger.transaction() as tx:
            owned_project(tx, project_id, caller)
            delivery = tx.webhooks.delivery(delivery_id)
            if delivery is None or delivery.project_id != project_id:
                raise NotFound(f"No delivery with id {delivery_id!r}.", code="delivery_not_found")
            endpoint = tx.webhooks.endpoint(delivery.endpoint_id)
            if endpoint is None or not endpoint.active:
                why = "was deleted" if endpoint is None else f"is disabled ({endpoint.disabled_reason})"
                raise Conflict(
                    f"This delivery's webhook {why}; nothing can be sent to it.", code="webhook_disabled"
                )
            now = self.clock()
            tx.webhooks.update_delivery(
                delivery_id,
                state=DeliveryState.PENDING,
                next_attempt_at=now,
                tries=0,
                window_started_at=None,
            )
            found = tx.webhooks.delivery(delivery_id)
        if found is None:  # cannot happen inside the transaction that just updated it
            raise NotFound(f"No delivery with id {delivery_id!r}.", code="delivery_not_found")
        return found
