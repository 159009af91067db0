"""The project's event log: SSE, JSON polling (same path, by Accept) and WebSocket — all from one iterator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, StreamingResponse

from framecast.domain.errors import FramecastError, InvalidInput, Unavailable
from framecast.domain.events import EventType, StreamMessage
from framecast.domain.identity import Caller
from framecast.domain.models import Event
from framecast.runtime import Runtime
from framecast.services.event_stream import EventStream, open_stream
from framecast.web.deps import ReaderDep, RuntimeDep, get_authenticator
from framecast.web.errors import log_unavailable, public_error, ws_close_code
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
            sse_body(stream, retry_ms=runtime.settings.sse_retry_ms, meter=request.app.state.metrics.streams),
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
    """Text frames with the same envelopes as SSE. An error before or during the stream is a ``problem``
    envelope, then a close whose code comes from the error's class (``web.errors.ws_close_code``)."""
    runtime = websocket.app.state.runtime
    await websocket.accept()
    try:
        caller = await asyncio.to_thread(
            lambda: get_authenticator(websocket).caller(websocket, allow_token=True)
        )
        stream = await _open(runtime, project_id, caller, _ws_after(websocket.query_params.get("after", "0")))
    except FramecastError as exc:
        await _close_with_problem(websocket, project_id, exc)
        return
    reader = asyncio.create_task(_read_commands(websocket, stream))
    counted = websocket.app.state.metrics.streams.connect("websocket", stream.project.last_seq)
    try:
        async for item in stream:
            await websocket.send_text(_envelope(item))
            if isinstance(item, Event):
                counted.sent(item)
        await websocket.close(code=1000)
    except _GONE:
        pass  # the client went away; it resumes from its last seq
    except FramecastError as exc:
        await _close_with_problem(websocket, project_id, exc)
    except Exception:  # noqa: BLE001 - last resort: a bug must still close the socket (1011), not hang it
        log.exception("WebSocket stream of %s failed", project_id)
        await _close_with_problem(websocket, project_id, None)
    finally:
        counted.close()
        reader.cancel()
        stream.close()


#: What sending to (or closing) a socket the client already left raises: Starlette's disconnect, its
#: RuntimeError for a send after the close, uvicorn's ClientDisconnected (an OSError).
_GONE = (WebSocketDisconnect, RuntimeError, OSError)


def _ws_after(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= MAX_SEQ:
        raise InvalidInput(f"after must be a whole number from 0 to {MAX_SEQ}.", field="after")
    return int(raw)


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


async def _close_with_problem(websocket: WebSocket, project_id: str, exc: FramecastError | None) -> None:
    """A ``problem`` envelope, then the close code of the error's class; None stands for a bug."""
    if isinstance(exc, Unavailable):
        log_unavailable(f"WebSocket stream of {project_id}", exc)
    envelope = {"type": EventType.PROBLEM, "project_id": project_id, "data": public_error(exc)}
    with contextlib.suppress(*_GONE):
        await websocket.send_text(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False))
        await websocket.close(code=ws_close_code(exc))
