"""In-memory fakes of the webhook ports: the store (``tx.webhooks`` of FakeLedger's sessions) and the sender.

``FakeWebhookStore`` keeps the SQL store's observable semantics (``tests/fakes/test_webhook_store_contract.py``
runs the same assertions on both): endpoints listed by (created_at, id), an owner's list with or without one
project's own webhook, deliveries by (created_at, id), due ones by (next_attempt_at, id) without attempts,
attempts oldest first, and a disable that keeps the first reason.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from framecast.domain.errors import WebhookUrlNotAllowed
from framecast.domain.webhooks import Attempt, Delivery, DeliveryState, WebhookEndpoint, parse_webhook_url
from framecast.services.ports import SendResult, WebhookMessage

_DELIVERY_FIELDS = frozenset(f.name for f in dataclasses.fields(Delivery)) - {"id", "attempts"}


@dataclass
class WebhookTables:
    """The fake ledger's webhook rows (part of its copied-per-transaction state)."""

    endpoints: dict[str, WebhookEndpoint] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    attempts: dict[str, list[Attempt]] = field(default_factory=dict)

    def copy(self) -> WebhookTables:
        return WebhookTables(
            endpoints=copy.deepcopy(self.endpoints),
            deliveries=copy.deepcopy(self.deliveries),
            attempts={k: list(v) for k, v in self.attempts.items()},  # Attempt is frozen
        )

    def delete_project(self, project_id: str) -> None:
        gone = [d for d, row in self.deliveries.items() if row.project_id == project_id]
        for delivery_id in gone:
            self.deliveries.pop(delivery_id)
            self.attempts.pop(delivery_id, None)
        self.endpoints = {k: e for k, e in self.endpoints.items() if e.project_id != project_id}


class FakeWebhookStore:
    """See ``services.ports.WebhookStore``; ``check_project`` refuses rows naming no project, as the
    foreign keys do."""

    def __init__(
        self, tables: WebhookTables, *, writable: bool, check_project: Callable[[str], bool]
    ) -> None:
        self._t = tables
        self._writable = writable
        self._project_exists = check_project

    def _write(self) -> WebhookTables:
        if not self._writable:
            raise RuntimeError("a write in ledger.read(); use ledger.transaction()")
        return self._t

    def _with_attempts(self, delivery: Delivery) -> Delivery:
        found = copy.deepcopy(delivery)
        found.attempts = list(self._t.attempts.get(delivery.id, []))
        return found

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        tables = self._write()
        if endpoint.id in tables.endpoints:
            raise KeyError(f"endpoint {endpoint.id} exists already")
        if endpoint.project_id is not None and not self._project_exists(endpoint.project_id):
            raise KeyError(f"endpoint {endpoint.id} names no existing project")
        stored = copy.deepcopy(endpoint)
        stored.events = list(stored.events)
        tables.endpoints[endpoint.id] = stored

    def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        found = self._t.endpoints.get(endpoint_id)
        return copy.deepcopy(found) if found is not None else None

    def endpoints(self, owner: str, *, project_id: str | None = None) -> list[WebhookEndpoint]:
        found = [
            e
            for e in self._t.endpoints.values()
            if e.owner == owner
            and (e.project_id is None or (project_id is not None and e.project_id == project_id))
        ]
        return [copy.deepcopy(e) for e in sorted(found, key=lambda e: (e.created_at, e.id))]

    def delete_endpoint(self, endpoint_id: str) -> None:
        self._write().endpoints.pop(endpoint_id, None)

    def disable_endpoint(self, endpoint_id: str, at: datetime, reason: str) -> None:
        found = self._write().endpoints.get(endpoint_id)
        if found is not None and found.disabled_at is None:
            found.disabled_at = at
            found.disabled_reason = reason

    def rotate_secret(
        self, endpoint_id: str, secret: str, previous: str | None, previous_until: datetime | None
    ) -> None:
        found = self._write().endpoints.get(endpoint_id)
        if found is not None:
            found.secret, found.previous_secret, found.previous_secret_until = (
                secret,
                previous,
                previous_until,
            )

    def add_deliveries(self, deliveries: list[Delivery]) -> None:
        tables = self._write()
        for delivery in deliveries:
            if delivery.id in tables.deliveries or not self._project_exists(delivery.project_id):
                raise KeyError(f"delivery {delivery.id} clashes or names no existing project")
        for delivery in deliveries:
            stored = copy.deepcopy(delivery)
            stored.attempts = []
            tables.deliveries[delivery.id] = stored

    def delivery(self, delivery_id: str) -> Delivery | None:
        found = self._t.deliveries.get(delivery_id)
        return self._with_attempts(found) if found is not None else None

    def deliveries(self, project_id: str) -> list[Delivery]:
        found = [d for d in self._t.deliveries.values() if d.project_id == project_id]
        return [self._with_attempts(d) for d in sorted(found, key=lambda d: (d.created_at, d.id))]

    def deliveries_due(self, before: datetime, limit: int) -> list[Delivery]:
        found = [
            d
            for d in self._t.deliveries.values()
            if d.state is DeliveryState.PENDING
            and d.next_attempt_at is not None
            and d.next_attempt_at <= before
        ]
        found.sort(key=lambda d: (d.next_attempt_at or before, d.id))
        return [copy.deepcopy(d) for d in found[:limit]]

    def pending_deliveries(self, endpoint_id: str) -> list[Delivery]:
        found = [
            d
            for d in self._t.deliveries.values()
            if d.endpoint_id == endpoint_id and d.state is DeliveryState.PENDING
        ]
        return [copy.deepcopy(d) for d in sorted(found, key=lambda d: (d.created_at, d.id))]

    def update_delivery(self, delivery_id: str, **fields: Any) -> None:
        unknown = set(fields) - _DELIVERY_FIELDS
        if unknown:
            raise TypeError(f"webhook_deliveries has no column(s) {sorted(unknown)}")
        found = self._write().deliveries.get(delivery_id)
        if found is None:
            return
        for name, value in fields.items():
            setattr(found, name, DeliveryState(value) if name == "state" else value)

    def add_attempt(self, delivery_id: str, attempt: Attempt) -> None:
        tables = self._write()
        if delivery_id not in tables.deliveries:
            raise KeyError(f"attempt names no existing delivery {delivery_id}")
        tables.attempts.setdefault(delivery_id, []).append(attempt)


Responder = Callable[[WebhookMessage], SendResult]


class FakeWebhookSender:
    """A sender that records every message and answers from a script.

    ``answers[url]`` is a list of status codes (or None for "no answer") used one per send, the last one
    repeating; a URL with no script answers 204. ``refused`` holds URLs whose ``check_url`` (and send)
    refuse with WebhookUrlNotAllowed, as a name that resolves to a private address would.

    >>> sender = FakeWebhookSender(answers={"https://r.example/h": [500, 204]})
    >>> [sender.send(WebhookMessage("https://r.example/h", "msg_1", "{}", "whsec_x")).status_code for _ in "abc"]
    [500, 204, 204]
    """

    def __init__(
        self, *, answers: dict[str, list[int | None]] | None = None, refused: set[str] | None = None
    ) -> None:
        self.answers = dict(answers or {})
        self.refused = set(refused or ())
        self.sent: list[WebhookMessage] = []
        self.closed = False

    def check_url(self, url: str) -> None:
        try:
            parse_webhook_url(url)
        except ValueError as exc:
            raise WebhookUrlNotAllowed(f"{exc}.", field="url") from None
        if url in self.refused:
            raise WebhookUrlNotAllowed(
                "The webhook URL is refused: it resolves to a private address.", field="url"
            )

    def send(self, message: WebhookMessage) -> SendResult:
        if message.url in self.refused:
            return SendResult(None, 0.1, "The webhook URL is refused: it resolves to a private address.")
        self.sent.append(message)
        script = self.answers.get(message.url)
        status: int | None = 204
        if script:
            status = script.pop(0) if len(script) > 1 else script[0]
        if status is None:
            return SendResult(None, 10_000.0, "no answer within 10 s")
        return SendResult(status, 1.0, None if 200 <= status < 300 else f"HTTP {status}")

    def close(self) -> None:
        self.closed = True

    def to(self, url: str) -> list[WebhookMessage]:
        return [m for m in self.sent if m.url == url]
