"""Stored files: served by Framecast itself, with the right Content-Type, ETag and byte ranges."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from framecast.domain.errors import NotFound
from framecast.web.deps import RuntimeDep
from framecast.web.routers.projects import etag_matches

router = APIRouter(tags=["media"])


@router.get("/media/{asset_id}/{filename}", summary="A stored file (video, poster, spritesheet, upload)")
async def media(asset_id: str, filename: str, request: Request, runtime: RuntimeDep) -> Response:
    asset = await asyncio.to_thread(runtime.service.asset, asset_id)
    if filename != asset.filename:
        raise NotFound("No such file.", code="asset_not_found")
    path = runtime.media.path(asset.key)  # refuses any key that leaves the media directory
    if not path.is_file():
        raise NotFound("The file is missing from storage.", code="asset_missing")
    response = FileResponse(
        path,
        stat_result=path.stat(),
        media_type=asset.mime,
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
        content_disposition_type="inline",
        filename=asset.filename,
    )
    etag = response.headers.get("etag")
    if etag and etag_matches(request.headers.get("if-none-match"), etag):
        return Response(
            status_code=304, headers={"ETag": etag, "Cache-Control": response.headers["cache-control"]}
        )
    return response
