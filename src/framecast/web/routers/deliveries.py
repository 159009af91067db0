"""A project's webhook deliveries: each event for each endpoint, with every attempt; redeliver one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from framecast.domain.webhooks import Delivery
from framecast.web.deps import CallerDep, WebhooksDep

router = APIRouter(prefix="/api/projects", tags=["webhooks"])

Id = Annotated[str, Field(min_length=1, max_length=64)]


class AttemptPublic(BaseModel):
    at: str | None
    status_code: int | None
    latency_ms: float | None
    error: str | None


class DeliveryPublic(BaseModel):
    id: str
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt of this event.")
    endpoint_id: str
    type: str
    url: str
    state: str = Field(description="pending, delivered or failed")
    created_at: str | None
    next_attempt_at: str | None
    attempts: list[AttemptPublic]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls.model_validate(delivery.public())


class DeliveryList(BaseModel):
    items: list[DeliveryPublic]


@router.get(
    "/{project_id}/deliveries",
    response_model=DeliveryList,
    summary="The project's webhook deliveries, one per event and endpoint, with their attempts",
)
def list_deliveries(project_id: Id, webhooks: WebhooksDep, caller: CallerDep) -> DeliveryList:
    return DeliveryList(items=[DeliveryPublic.of(d) for d in webhooks.deliveries(project_id, caller=caller)])


@router.post(
    "/{project_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryPublic,
    summary="Send a delivery again now, with the same webhook-id",
)
def redeliver(project_id: Id, delivery_id: Id, webhooks: WebhooksDep, caller: CallerDep) -> DeliveryPublic:
    return DeliveryPublic.of(webhooks.redeliver(project_id, delivery_id, caller=caller))
