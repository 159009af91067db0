"""The SSE open, on a lean route: ``GET /api/projects/{id}/events`` with ``Accept: text/event-stream``.

When a proxy drops, every page reconnects at once, and what one open costs decides whether 10,000
streams are back within seconds or the listen queue overflows. FastAPI's route machinery (dependency
solving, parameter models, a thread-pool hop per plain dependency) was a large part of that cost for a
request that needs three things: who is calling, where to start, and the stream. So SSE opens match this
Starlette route, mounted ahead of the API's routes (``create_app``); JSON polling and ``HEAD`` on the
same path stay with the FastAPI route in ``routers.events``, which also documents both in OpenAPI.

It keeps every rule of the FastAPI route: the one identity function (``web.auth``) and the one owner check
(``services.access``, through ``services.shared_reads``), 401 before 422 before 404, ``Last-Event-ID``
over ``?after``, strict cursors, ``limit`` validated as there (1 to 1000), 204 after the terminal event.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Match, Route
from starlette.types import Scope

from framecast.domain.errors import InvalidInput
from framecast.runtime import Runtime
from framecast.services.event_stream import open_stream
from framecast.services.shared_reads import SharedReads
from framecast.web.deps import resolve_caller
from framecast.web.routers.events import MAX_LIMIT, start_cursor
from framecast.web.sse import HEADERS, sse_body

PATH = "/api/projects/{project_id}/events"


class SseRoute(Route):
    """Matches only GET requests that accept ``text/event-stream``; every other request of the path falls
    through to the next route (polling, HEAD)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != "GET" or not _accepts_sse(scope):
            return Match.NONE, {}
        return super().matches(scope)


def _accepts_sse(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept" and b"text/event-stream" in value:
            return True
    return False


def _check_limit(raw: str | None) -> None:
    """``limit`` means nothing to a stream, but a bad one is refused as on the polling route."""
    if raw is None:
        return
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}.", field="limit")


async def sse_events(request: Request) -> Response:
    project_id: str = request.path_params["project_id"]
    caller = await resolve_caller(request, allow_token=True)
    query = request.query_params
    cursor = start_cursor(query.get("after"), request.headers.get("last-event-id"))
    _check_limit(query.get("limit"))
    runtime: Runtime = request.app.state.runtime
    reads: SharedReads = request.app.state.reads
    stream = await open_stream(
        runtime.ledger,
        runtime.hub,
        project_id,
        caller=caller,
        after=cursor,
        ping_interval_s=runtime.settings.ping_interval_s,
        log=runtime.event_log,
        reads=reads,
    )
    if stream.exhausted:
        # The HTML standard's way to make an EventSource stop: without it, a stream that ends after the
        # terminal event is reopened (with Last-Event-ID) forever.
        stream.close()
        return Response(status_code=204, headers={"Cache-Control": "no-cache"})
    return StreamingResponse(
        sse_body(stream, retry_ms=runtime.settings.sse_retry_ms, meter=request.app.state.metrics.streams),
        media_type="text/event-stream; charset=utf-8",
        headers=HEADERS,
    )


def route(**kwargs: Any) -> SseRoute:
    """The route to mount first (``app.router.routes.insert(0, route())``)."""
    return SseRoute(PATH, sse_events, methods=["GET"], include_in_schema=False, **kwargs)
