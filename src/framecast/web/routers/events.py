"""The project's event log: SSE, JSON polling (same path, by Accept) and WebSocket — all from one iterator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, StreamingResponse

from framecast.domain.errors import FramecastError, InvalidInput
from framecast.domain.events import StreamMessage
from framecast.domain.identity import Caller
from framecast.domain.models import Event
from framecast.runtime import Runtime
from framecast.services.event_stream import EventStream, open_stream
from framecast.web.deps import ReaderDep, RuntimeDep, get_authenticator
from framecast.web.sse import HEADERS, sse_body

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/projects", tags=["events"])

MAX_SEQ = 2**31

After = Annotated[int | None, Query(ge=0, le=MAX_SEQ, description="Send events with seq greater than this.")]


def _cursor(after: int | None, last_event_id: str | None) -> int:
    if after is not None:
        return after
    if last_event_id:
        try:
            value = int(last_event_id.strip())
        except ValueError as exc:
            raise InvalidInput(
                "Last-Event-ID must be a whole number (the last seq received).", field="Last-Event-ID"
            ) from exc
        if not 0 <= value <= MAX_SEQ:
            raise InvalidInput(f"Last-Event-ID must be between 0 and {MAX_SEQ}.", field="Last-Event-ID")
        return value
    return 0


@router.get(
    "/{project_id}/events",
    summary="Events: SSE with Accept: text/event-stream, otherwise JSON polling",
    responses={200: {"content": {"text/event-stream": {}, "application/json": {}}}},
)
async def project_events(
    project_id: str,
    request: Request,
    runtime: RuntimeDep,
    caller: ReaderDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Any:
    cursor = _cursor(after, last_event_id)
    accept = request.headers.get("accept", "")
    if "text/event-stream" in accept:
        stream = await _open(runtime, project_id, caller, cursor)
        return StreamingResponse(
            sse_body(stream, retry_ms=runtime.settings.sse_retry_ms),
            media_type="text/event-stream; charset=utf-8",
            headers=HEADERS,
        )
    body = await asyncio.to_thread(
        lambda: runtime.service.poll(project_id, caller=caller, after=cursor, limit=limit)
    )
    return JSONResponse(body, headers={"Cache-Control": "no-cache"})


async def _open(runtime: Runtime, project_id: str, caller: Caller, after: int) -> EventStream:
    return await open_stream(
        runtime.ledger,
        runtime.hub,
        project_id,
        caller=caller,
        after=after,
        ping_interval_s=runtime.settings.ping_interval_s,
        log=runtime.event_log,
    )


def _envelope(item: Event | StreamMessage) -> str:
    if isinstance(item, Event):
        return item.envelope_json
    return json.dumps(item.envelope(), separators=(",", ":"), ensure_ascii=False)


@router.websocket("/{project_id}/ws")
async def project_ws(websocket: WebSocket, project_id: str) -> None:
    runtime = websocket.app.state.runtime
    await websocket.accept()
    try:
        caller = await asyncio.to_thread(
            lambda: get_authenticator(websocket).caller(websocket, allow_token=True)
        )
    except FramecastError as exc:
        await _close_with_error(websocket, exc, 4401)
        return
    raw_after = websocket.query_params.get("after", "0")
    try:
        after = int(raw_after)
        if not 0 <= after <= MAX_SEQ:
            raise ValueError
    except ValueError:
        await _close_with_error(
            websocket, InvalidInput(f"after must be a whole number from 0 to {MAX_SEQ}.", field="after"), 4422
        )
        return
    try:
        stream = await _open(runtime, project_id, caller, after)
    except FramecastError as exc:
        await _close_with_error(websocket, exc, 4404 if exc.code.endswith("not_found") else 4400)
        return
    reader = asyncio.create_task(_read_commands(websocket, stream))
    try:
        async for item in stream:
            await websocket.send_text(_envelope(item))
            if isinstance(item, Event):
                continue
        await websocket.close(code=1000)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away; it resumes from its last seq
    except FramecastError as exc:
        await _close_with_error(websocket, exc, 4404 if exc.code.endswith("not_found") else 4400)
    except Exception:  # noqa: BLE001
        log.exception("WebSocket stream of %s failed", project_id)
        with contextlib.suppress(Exception):
            await websocket.close(code=1011)
    finally:
        reader.cancel()
        stream.close()


async def _read_commands(websocket: WebSocket, stream: EventStream) -> None:
    """Client messages: ``{"type": "resume", "after": N}`` moves the cursor; anything else is ignored."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        while True:
            text = await websocket.receive_text()
            try:
                message = json.loads(text)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("type") == "resume":
                after = message.get("after")
                if isinstance(after, int) and after >= 0:
                    stream.resume_from(after)


async def _close_with_error(websocket: WebSocket, exc: FramecastError, code: int) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps({"type": "error", "data": exc.as_dict()}))
        await websocket.close(code=code)
