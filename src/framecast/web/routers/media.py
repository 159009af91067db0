"""Stored files: served by Framecast itself, with the right Content-Type, ETag and byte ranges."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from framecast.domain.errors import NotFound
from framecast.web.deps import ReaderDep, RuntimeDep
from framecast.web.openapi import READ, problems
from framecast.web.ranged import RangedFileResponse, requested_ranges, stream_stored
from framecast.web.routers.projects import etag_matches

router = APIRouter(tags=["media"])

#: Files never change under their id, but they are one owner's: browsers may keep them, shared caches (a
#: CDN, a corporate proxy) must not, or they would hand one person's video to the next.
_CACHE = "private, max-age=31536000, immutable"
#: Served inline only as what a browser plays or shows safely; anything else is a download, so a file can
#: never run as a page on this origin (with nosniff, and a sandbox for good measure).
_INLINE = ("video/", "audio/", "image/png", "image/jpeg", "image/gif", "image/webp")
_SANDBOX = "default-src 'none'; sandbox"


def _disposition(mime: str) -> str:
    return "inline" if mime.startswith(_INLINE) else "attachment"


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/media/{asset_id}/{filename}",
    summary="A stored file (video, poster, spritesheet, upload)",
    description="The bytes under their own Content-Type, with ETag (304 on If-None-Match) and byte ranges "
    "(RFC 9110: `Range: bytes=…` answers 206; several ranges answer 206 `multipart/byteranges`).",
    response_class=Response,
    responses={
        200: {
            "description": "The whole file.",
            "content": {
                "video/mp4": _BINARY,
                "image/png": _BINARY,
                "image/jpeg": _BINARY,
                "audio/mpeg": _BINARY,
                "audio/wav": _BINARY,
                "application/octet-stream": _BINARY,
            },
            "headers": {
                "ETag": {"schema": {"type": "string"}},
                "Accept-Ranges": {"schema": {"type": "string", "enum": ["bytes"]}},
            },
        },
        206: {
            "description": "The requested range (Content-Range), or several as multipart/byteranges.",
            "content": {"video/mp4": _BINARY, "multipart/byteranges": _BINARY},
            "headers": {"Content-Range": {"schema": {"type": "string"}}},
        },
        304: {"description": "If-None-Match matched the ETag."},
        **problems(*READ, 404, 416, 422),
    },
)
@router.head("/media/{asset_id}/{filename}", include_in_schema=False)
async def media(
    asset_id: str, filename: str, request: Request, runtime: RuntimeDep, caller: ReaderDep
) -> Response:
    asset = await asyncio.to_thread(lambda: runtime.service.asset(asset_id, caller=caller))
    if filename != asset.filename:
        raise NotFound("No such file.", code="asset_not_found")
    disposition = _disposition(asset.mime)
    headers = {
        "Cache-Control": _CACHE,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": _SANDBOX,
        "Content-Disposition": f'{disposition}; filename="{asset.filename}"',
    }
    path = runtime.media.local_file(asset.key)  # refuses any key that leaves the media store
    if path is None:  # remote storage (S3): stream the object
        info = await asyncio.to_thread(runtime.media.stat, asset.key)
        if etag_matches(request.headers.get("if-none-match"), info.etag):
            return Response(status_code=304, headers={"ETag": info.etag, "Cache-Control": _CACHE})
        return await stream_stored(request, runtime.media, asset.key, info, headers, asset.mime)
    if not path.is_file():
        raise NotFound("The file is missing from storage.", code="asset_missing")
    stat = path.stat()
    response = RangedFileResponse(
        path,
        stat_result=stat,
        media_type=asset.mime,
        headers={
            "Cache-Control": _CACHE,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": _SANDBOX,
        },
        content_disposition_type=disposition,
        filename=asset.filename,
    )
    etag = response.headers["etag"]
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": _CACHE})
    response.ranges = requested_ranges(request, stat.st_size, etag, response.headers.get("last-modified"))
    return response
