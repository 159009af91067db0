"""An owner's webhook endpoints: create (the secret shown once), list, delete, rotate the secret."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from framecast.domain.models import iso
from framecast.domain.options import WebhookUrl
from framecast.domain.webhooks import (
    DEFAULT_ROTATION_GRACE_S,
    MAX_DESCRIPTION_CHARS,
    MAX_ROTATION_GRACE_S,
    WebhookEvent,
)
from framecast.web.deps import CallerDep, WebhooksDep
from framecast.web.openapi import READ, WRITE, problems
from framecast.web.schemas import (
    WebhookEndpointCreated,
    WebhookEndpointList,
    WebhookEndpointPublic,
    WebhookEndpointRotated,
)

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])

EndpointId = Annotated[str, Field(min_length=1, max_length=64)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: WebhookUrl = Field(description="An http(s) URL on a public address.")
    events: list[WebhookEvent] | None = Field(
        None,
        min_length=1,
        description="Which of started, file, completed, failed, cancelled (default: the last three).",
    )
    description: str | None = Field(None, max_length=MAX_DESCRIPTION_CHARS)


@router.post(
    "",
    status_code=201,
    response_model=WebhookEndpointCreated,
    summary="Add a webhook endpoint",
    responses=problems(*WRITE, 413, s422="webhook_url_not_allowed, or invalid_input for another field."),
)
def create_webhook(body: WebhookCreate, webhooks: WebhooksDep, caller: CallerDep) -> WebhookEndpointCreated:
    events = None if body.events is None else [e.value for e in body.events]
    endpoint = webhooks.create_endpoint(caller, body.url, events, body.description)
    return WebhookEndpointCreated(**endpoint.public(), secret=endpoint.secret or "")


@router.get(
    "",
    response_model=WebhookEndpointList,
    summary="Your webhook endpoints (without their secrets)",
    responses=problems(*READ),
)
def list_webhooks(webhooks: WebhooksDep, caller: CallerDep) -> WebhookEndpointList:
    return WebhookEndpointList(items=[WebhookEndpointPublic.of(e) for e in webhooks.list_endpoints(caller)])


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a webhook endpoint",
    responses=problems(*WRITE, 404),
)
def delete_webhook(endpoint_id: EndpointId, webhooks: WebhooksDep, caller: CallerDep) -> Response:
    webhooks.delete_endpoint(caller, endpoint_id)
    return Response(status_code=204)


# -- rotating an endpoint's secret ----------------------------------------------------------------------


class WebhookRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_s: int = Field(
        DEFAULT_ROTATION_GRACE_S,
        ge=0,
        le=MAX_ROTATION_GRACE_S,
        description="How long the old secret still signs beside the new one (0: it stops at once).",
    )


@router.post(
    "/{endpoint_id}/rotate",
    response_model=WebhookEndpointRotated,
    summary="Give a webhook endpoint a new secret (the old one still signs during a grace period)",
    responses=problems(*WRITE, 404, s422="invalid_input: grace_s out of 0..604800."),
)
def rotate_webhook_secret(
    endpoint_id: EndpointId,
    webhooks: WebhooksDep,
    caller: CallerDep,
    body: WebhookRotate | None = None,
) -> WebhookEndpointRotated:
    grace_s = DEFAULT_ROTATION_GRACE_S if body is None else body.grace_s
    endpoint = webhooks.rotate_endpoint_secret(caller, endpoint_id, grace_s)
    return WebhookEndpointRotated(
        **endpoint.public(),
        secret=endpoint.secret or "",
        previous_secret_until=iso(endpoint.previous_secret_until),
    )
