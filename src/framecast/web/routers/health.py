"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from framecast.domain.errors import Unavailable
from framecast.web.deps import RuntimeDep
from framecast.web.errors import RETRY_AFTER_S, UNAVAILABLE_CODE
from framecast.web.openapi import problems
from framecast.web.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.head("/healthz", include_in_schema=False)
@router.get("/healthz", response_model=Health, summary="The process is alive", responses=problems(421))
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.head("/readyz", include_in_schema=False)
@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Database, broker and storage are reachable",
    responses={
        503: {
            "model": Readiness,
            "description": "A check failed (Retry-After); checks says which and why.",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
        **problems(421),
    },
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """200 when a real query, the broker and the media store all answer now; 503 with Retry-After and the
    reason of each failing check otherwise. Every probe runs on each call, so readiness heals by itself."""
    checks: dict[str, Any] = {}
    for name, probe in (
        ("database", runtime.ledger.ping),
        ("broker", runtime.service.queue.ping),
        ("storage", runtime.media.ping),
    ):
        try:
            await asyncio.to_thread(probe)
            checks[name] = "ok"
        except Unavailable as exc:
            checks[name] = f"{exc.code}: {exc.message}"
    if all(v == "ok" for v in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse(
        {"status": "unavailable", "code": UNAVAILABLE_CODE, "checks": checks},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
