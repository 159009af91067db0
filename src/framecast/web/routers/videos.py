"""The gallery: completed projects, newest first, with cursor pagination."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from framecast.web.deps import CallerDep, ServiceDep

router = APIRouter(prefix="/api/videos", tags=["videos"])


@router.head("", include_in_schema=False)
@router.get("", summary="Finished videos, newest first")
async def list_videos(
    service: ServiceDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, Any]:
    return await asyncio.to_thread(service.list_videos, caller=caller, limit=limit, cursor=cursor)
