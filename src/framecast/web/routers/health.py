"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from framecast.domain.errors import Unavailable
from framecast.web.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.head("/healthz", include_in_schema=False)
@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.head("/readyz", include_in_schema=False)
@router.get("/readyz", summary="Database, broker and storage are reachable")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
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
            checks[name] = exc.message
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
