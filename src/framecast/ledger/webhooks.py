"""The webhook store (``services.ports.WebhookStore``) on the connection of one ledger transaction."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, delete, insert, or_, select, update

from framecast.domain.webhooks import Attempt, Delivery, DeliveryState, WebhookEndpoint
from framecast.ledger.engine import is_sqlite
from framecast.ledger.tables import webhook_attempts, webhook_deliveries, webhook_endpoints

_DELIVERY_FIELDS = frozenset(c.name for c in webhook_deliveries.columns) - {"id"}


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def _endpoint(row: RowMapping) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row["id"],
        owner=row["owner"],
        url=row["url"],
        events=list(row["events"] or []),
        secret=row["secret"],
        description=row["description"],
        project_id=row["project_id"],
        created_at=_utc(row["created_at"]) or datetime.now(UTC),
        disabled_at=_utc(row["disabled_at"]),
        disabled_reason=row["disabled_reason"],
        previous_secret=row["previous_secret"],
        previous_secret_until=_utc(row["previous_secret_until"]),
    )


def _delivery(row: RowMapping, attempts: list[Attempt] | None = None) -> Delivery:
    return Delivery(
        id=row["id"],
        project_id=row["project_id"],
        endpoint_id=row["endpoint_id"],
        message_id=row["message_id"],
        type=row["type"],
        url=row["url"],
        payload=row["payload"],
        state=DeliveryState(row["state"]),
        created_at=_utc(row["created_at"]) or datetime.now(UTC),
        next_attempt_at=_utc(row["next_attempt_at"]),
        window_started_at=_utc(row["window_started_at"]),
        tries=row["tries"],
        attempts=attempts or [],
    )


def _attempt(row: RowMapping) -> Attempt:
    return Attempt(
        at=_utc(row["at"]) or datetime.now(UTC),
        status_code=row["status_code"],
        latency_ms=row["latency_ms"],
        error=row["error"],
    )


class SqlWebhookStore:
    """Endpoints, deliveries and attempts in the caller's transaction (``SqlSession.webhooks``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- endpoints --------------------------------------------------------------------------------------

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._conn.execute(
            insert(webhook_endpoints).values(
                id=endpoint.id,
                owner=endpoint.owner,
                project_id=endpoint.project_id,
                url=endpoint.url,
                events=list(endpoint.events),
                secret=endpoint.secret,
                description=endpoint.description,
                created_at=endpoint.created_at,
                disabled_at=endpoint.disabled_at,
                disabled_reason=endpoint.disabled_reason,
                previous_secret=endpoint.previous_secret,
                previous_secret_until=endpoint.previous_secret_until,
            )
        )

    def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        row = (
            self._conn.execute(select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))
            .mappings()
            .first()
        )
        return _endpoint(row) if row else None

    def endpoints(self, owner: str, *, project_id: str | None = None) -> list[WebhookEndpoint]:
        scope: ColumnElement[bool] = webhook_endpoints.c.project_id.is_(None)
        if project_id is not None:
            scope = or_(scope, webhook_endpoints.c.project_id == project_id)
        rows = self._conn.execute(
            select(webhook_endpoints)
            .where(webhook_endpoints.c.owner == owner, scope)
            .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
        ).mappings()
        return [_endpoint(r) for r in rows]

    def delete_endpoint(self, endpoint_id: str) -> None:
        self._conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))

    def disable_endpoint(self, endpoint_id: str, at: datetime, reason: str) -> None:
        self._conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.disabled_at.is_(None))
            .values(disabled_at=at, disabled_reason=reason)
        )

    def rotate_secret(
        self, endpoint_id: str, secret: str, previous: str | None, previous_until: datetime | None
    ) -> None:
        self._conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id)
            .values(secret=secret, previous_secret=previous, previous_secret_until=previous_until)
        )

    # -- deliveries -------------------------------------------------------------------------------------

    def add_deliveries(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        self._conn.execute(
            insert(webhook_deliveries),
            [
                {
                    "id": d.id,
                    "project_id": d.project_id,
                    "endpoint_id": d.endpoint_id,
                    "message_id": d.message_id,
                    "type": d.type,
                    "url": d.url,
                    "payload": d.payload,
                    "state": d.state.value,
                    "created_at": d.created_at,
                    "next_attempt_at": d.next_attempt_at,
                    "window_started_at": d.window_started_at,
                    "tries": d.tries,
                }
                for d in deliveries
            ],
        )

    def _attempts(self, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
        found: dict[str, list[Attempt]] = defaultdict(list)
        if not delivery_ids:
            return found
        rows = self._conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id.in_(delivery_ids))
            .order_by(webhook_attempts.c.id)
        ).mappings()
        for row in rows:
            found[row["delivery_id"]].append(_attempt(row))
        return found

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = (
            self._conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return _delivery(row, self._attempts([delivery_id]).get(delivery_id))

    def deliveries(self, project_id: str) -> list[Delivery]:
        rows = list(
            self._conn.execute(
                select(webhook_deliveries)
                .where(webhook_deliveries.c.project_id == project_id)
                .order_by(webhook_deliveries.c.created_at, webhook_deliveries.c.id)
            ).mappings()
        )
        attempts = self._attempts([r["id"] for r in rows])
        return [_delivery(r, attempts.get(r["id"])) for r in rows]

    def deliveries_due(self, before: datetime, limit: int) -> list[Delivery]:
        query = (
            select(webhook_deliveries)
            .where(
                webhook_deliveries.c.state == DeliveryState.PENDING.value,
                webhook_deliveries.c.next_attempt_at <= before,
            )
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
            .limit(limit)
        )
        if not is_sqlite(self._conn.engine):
            # Two senders at once (a lead that just changed hands) each take rows the other has not.
            query = query.with_for_update(skip_locked=True)
        return [_delivery(r) for r in self._conn.execute(query).mappings()]

    def pending_deliveries(self, endpoint_id: str) -> list[Delivery]:
        rows = self._conn.execute(
            select(webhook_deliveries)
            .where(
                webhook_deliveries.c.endpoint_id == endpoint_id,
                webhook_deliveries.c.state == DeliveryState.PENDING.value,
            )
            .order_by(webhook_deliveries.c.created_at, webhook_deliveries.c.id)
        ).mappings()
        return [_delivery(r) for r in rows]

    def update_delivery(self, delivery_id: str, **fields: Any) -> None:
        unknown = set(fields) - _DELIVERY_FIELDS
        if unknown:
            raise TypeError(f"webhook_deliveries has no column(s) {sorted(unknown)}")
        if isinstance(fields.get("state"), DeliveryState):
            fields["state"] = fields["state"].value
        self._conn.execute(
            update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(**fields)
        )

    def add_attempt(self, delivery_id: str, attempt: Attempt) -> None:
        self._conn.execute(
            insert(webhook_attempts).values(
                delivery_id=delivery_id,
                at=attempt.at,
                status_code=attempt.status_code,
                latency_ms=attempt.latency_ms,
                error=attempt.error,
            )
        )

    # -- for SqlSession.delete_project ------------------------------------------------------------------

    def delete_project(self, project_id: str) -> None:
        """Everything of a project's webhooks: its deliveries with their attempts, and its own webhook."""
        ids = select(webhook_deliveries.c.id).where(webhook_deliveries.c.project_id == project_id)
        self._conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(ids)))
        self._conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.project_id == project_id))
        self._conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.project_id == project_id))
