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
    WebhookEndpoint,
    WebhookEvent,
)
from framecast.web.deps import CallerDep, WebhooksDep

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


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: str | None
    disabled_at: str | None
    disabled_reason: str | None

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookPublic:
        return cls.model_validate(endpoint.public())


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="whsec_…: verifies this endpoint's deliveries. Shown this once.")


class WebhookList(BaseModel):
    items: list[WebhookPublic]


@router.post("", status_code=201, response_model=WebhookCreated, summary="Add a webhook endpoint")
def create_webhook(body: WebhookCreate, webhooks: WebhooksDep, caller: CallerDep) -> WebhookCreated:
    events = None if body.events is None else [e.value for e in body.events]
    endpoint = webhooks.create_endpoint(caller, body.url, events, body.description)
    return WebhookCreated(**endpoint.public(), secret=endpoint.secret or "")


@router.get("", response_model=WebhookList, summary="Your webhook endpoints (without their secrets)")
def list_webhooks(webhooks: WebhooksDep, caller: CallerDep) -> WebhookList:
    return WebhookList(items=[WebhookPublic.of(e) for e in webhooks.list_endpoints(caller)])


@router.delete("/{endpoint_id}", status_code=204, summary="Remove a webhook endpoint")
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


class WebhookRotated(WebhookPublic):
    secret: str = Field(description="The new whsec_…: verifies this endpoint's deliveries. Shown this once.")
    previous_secret_until: str | None = Field(
        description="Until when deliveries are signed with the old secret too (null: no longer)."
    )


@router.post(
    "/{endpoint_id}/rotate",
    response_model=WebhookRotated,
    summary="Give a webhook endpoint a new secret (the old one still signs during a grace period)",
)
def rotate_webhook_secret(
    endpoint_id: EndpointId,
    webhooks: WebhooksDep,
    caller: CallerDep,
    body: WebhookRotate | None = None,
) -> WebhookRotated:
    grace_s = DEFAULT_ROTATION_GRACE_S if body is None else body.grace_s
    endpoint = webhooks.rotate_endpoint_secret(caller, endpoint_id, grace_s)
    return WebhookRotated(
        **endpoint.public(),
        secret=endpoint.secret or "",
        previous_secret_until=iso(endpoint.previous_secret_until),
    )
