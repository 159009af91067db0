"""The gallery: completed projects, newest first, with cursor pagination."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from framecast.web.deps import CallerDep, ServiceDep
from framecast.web.openapi import READ, problems
from framecast.web.schemas import VideoList

router = APIRouter(prefix="/api/videos", tags=["videos"])


@router.head("", include_in_schema=False)
@router.get(
    "",
    response_model=VideoList,
    summary="Finished videos, newest first",
    responses=problems(
        *READ, 422, s422="invalid_input: limit out of 1..100, or a cursor not given out here."
    ),
)
async def list_videos(
    service: ServiceDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, Any]:
    return await asyncio.to_thread(service.list_videos, caller=caller, limit=limit, cursor=cursor)
