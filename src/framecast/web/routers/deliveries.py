"""A project's webhook deliveries: each event for each endpoint, with every attempt; redeliver one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from framecast.web.deps import CallerDep, WebhooksDep
from framecast.web.openapi import READ, WRITE, problems
from framecast.web.schemas import DeliveryList, DeliveryPublic

router = APIRouter(prefix="/api/projects", tags=["webhooks"])

Id = Annotated[str, Field(min_length=1, max_length=64)]


@router.get(
    "/{project_id}/deliveries",
    response_model=DeliveryList,
    summary="The project's webhook deliveries, one per event and endpoint, with their attempts",
    responses=problems(*READ, 404, 422),
)
def list_deliveries(project_id: Id, webhooks: WebhooksDep, caller: CallerDep) -> DeliveryList:
    return DeliveryList(items=[DeliveryPublic.of(d) for d in webhooks.deliveries(project_id, caller=caller)])


@router.post(
    "/{project_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryPublic,
    summary="Send a delivery again now, with the same webhook-id",
    responses=problems(*WRITE, 404),
)
def redeliver(project_id: Id, delivery_id: Id, webhooks: WebhooksDep, caller: CallerDep) -> DeliveryPublic:
    return DeliveryPublic.of(webhooks.redeliver(project_id, delivery_id, caller=caller))
