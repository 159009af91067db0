"""The page at /tools/video-generator, its static files, and the timeline JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from framecast.domain.timeline import timeline_json_schema
from framecast.web.openapi import problems

router = APIRouter()

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

_PLACEHOLDER = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Framecast</title></head>
<body><h1>Framecast video generator</h1><p>The page is not installed.</p></body></html>"""


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    return RedirectResponse("/tools/video-generator", status_code=307)


@router.get(
    "/tools/video-generator",
    tags=["page"],
    summary="The video generator page",
    response_class=HTMLResponse,
    responses=problems(421),
)
async def video_generator() -> Response:
    index = STATIC_DIR / "index.html"
    if index.is_file():
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)
    return HTMLResponse(_PLACEHOLDER, headers=PAGE_HEADERS)


@router.get(
    "/api/schema/timeline",
    tags=["schema"],
    response_model=dict[str, Any],
    summary="JSON Schema of the timeline",
    responses=problems(421),
)
async def timeline_schema() -> dict[str, Any]:
    return timeline_json_schema()
