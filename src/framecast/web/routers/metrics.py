"""``GET /metrics``: Prometheus text exposition (see ``web.metrics`` for what is in it).

Who may read it: with ``FRAMECAST_AUTH=none`` anyone who reaches the port (loopback only in that mode);
otherwise ``Authorization: Bearer $FRAMECAST_METRICS_TOKEN`` or an admin key (or an admin's page
session). No credentials: 401 like every route; a key or proxy user that is not an admin: 403.
"""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from framecast.domain.errors import Forbidden
from framecast.domain.identity import AuthMode
from framecast.web.deps import RuntimeDep, get_authenticator
from framecast.web.metrics import Metrics
from framecast.web.openapi import problems

router = APIRouter(tags=["operations"])


def _check_access(request: Request, token: str | None, mode: AuthMode) -> None:
    if token:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
            return
    if mode is AuthMode.NONE:
        return
    caller = get_authenticator(request).caller(request)  # Unauthenticated (401) without credentials
    if not caller.admin:
        raise Forbidden(
            "Metrics are for operators: use an admin key (framecast keys create --admin) or "
            "FRAMECAST_METRICS_TOKEN.",
            code="metrics_forbidden",
        )


@router.head("/metrics", include_in_schema=False)
@router.get(
    "/metrics",
    summary="Prometheus metrics (admin key or FRAMECAST_METRICS_TOKEN when sign-in is on)",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition (version 0.0.4).",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **problems(401, 403, 421, 503, s403="metrics_forbidden: a key or proxy user that is not an admin."),
    },
)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    settings = runtime.settings
    await asyncio.to_thread(_check_access, request, settings.metrics_token, settings.auth)
    exported: Metrics = request.app.state.metrics
    body = await asyncio.to_thread(generate_latest, exported.registry)
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4, headers={"Cache-Control": "no-store"})
