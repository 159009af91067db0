"""The project's event log: SSE, JSON polling (same path, by Accept) and WebSocket — all from one iterator.

SSE opens (GET with ``Accept: text/event-stream``) are answered by the lean route of ``web.stream_route``,
mounted ahead of this router; the route here answers polling and ``HEAD``, and documents all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from framecast.domain.errors import FramecastError, InvalidInput, Unavailable, UnusableMessage
from framecast.domain.events import EventType, StreamMessage
from framecast.domain.identity import Caller
from framecast.domain.models import Event
from framecast.runtime import Runtime
from framecast.services.event_stream import EventStream, open_stream
from framecast.services.shared_reads import SharedReads
from framecast.web.deps import ReaderDep, RuntimeDep, resolve_caller
from framecast.web.errors import log_unavailable, public_error, ws_close_code
from framecast.web.metrics import StreamConnection
from framecast.web.openapi import READ, problems
from framecast.web.schemas import EventList

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/projects", tags=["events"])

MAX_SEQ = 2**31
#: The most events one polling answer holds.
MAX_LIMIT = 1000
#: More digits than any seq has (with leading zeros to spare); a longer string is never handed to int().
_MAX_CURSOR_DIGITS = 32

After = Annotated[
    str | None,
    Query(
        description="Send events with seq greater than this (ASCII digits, 0 to 2^31).",
        json_schema_extra={"pattern": "^[0-9]+$"},
    ),
]


def parse_cursor(raw: str) -> int | None:
    """A cursor as clients send it (``?after``, ``Last-Event-ID``, a WebSocket's ``?after``): ASCII digits
    only, 0 to MAX_SEQ; None for anything else. ``int()`` alone would take ``" 1"``, ``"+1"``, ``"1_0"``
    and ``"١٢"``, which no client of this protocol sends on purpose.

    >>> [parse_cursor(s) for s in ("0", "42", "007", "", " 1", "+1", "1_0", "1.0", "١٢", "0x1")]
    [0, 42, 7, None, None, None, None, None, None, None]
    """
    if not (0 < len(raw) <= _MAX_CURSOR_DIGITS and raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_SEQ else None


def start_cursor(after: str | None, last_event_id: str | None) -> int:
    """Where a request starts: a valid ``Last-Event-ID`` wins over ``?after`` (an EventSource keeps its URL,
    ``…/events?after=0``, and sends the header on every reconnect). A bad ``?after`` is the client's
    mistake (422); a bad ``Last-Event-ID`` is ignored, as browsers ignore ids they cannot use."""
    start = 0
    if after is not None:
        parsed = parse_cursor(after)
        if parsed is None:
            raise InvalidInput(
                f"after must be a whole number from 0 to {MAX_SEQ}, in ASCII digits (the last seq received).",
                field="after",
            )
        start = parsed
    resumed = parse_cursor(last_event_id) if last_event_id is not None else None
    return start if resumed is None else resumed


#: The SSE body: one message per event, ``id:`` the seq, ``event:`` the type, ``data:`` an EventEnvelope.
_SSE_ITEM = {
    "type": "object",
    "properties": {
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/EventEnvelope"},
        },
        "event": {"type": "string", "description": "The envelope's type."},
        "id": {"type": "string", "description": "The envelope's seq (absent on stream-only messages)."},
        "retry": {"type": "integer", "minimum": 0, "description": "Sent with hello: the reconnect delay."},
    },
    "required": ["data"],
}


@router.get(
    "/{project_id}/events",
    response_model=EventList,
    summary="Events: SSE with Accept: text/event-stream, otherwise JSON polling",
    description="With `Accept: text/event-stream`: Server-Sent Events. `retry:`, then `hello`, then the log "
    "after the cursor (`Last-Event-ID` wins over `?after`), then live events and `ping`s; the stream ends "
    "after the terminal `project_status`, and problems after it started arrive as `problem` events, never "
    "as an HTTP error. Otherwise: one page of the log as JSON (polling).",
    responses={
        200: {
            "description": "JSON polling (EventList), or the SSE stream of EventEnvelopes.",
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string", "description": "Server-Sent Events (see itemSchema)."},
                    "itemSchema": _SSE_ITEM,
                }
            },
        },
        204: {"description": "SSE only: the cursor is at or past the terminal event; read the snapshot."},
        **problems(*READ, 404, 422, s422="invalid_input: after is not ASCII digits from 0 to 2^31."),
    },
)
@router.head("/{project_id}/events", include_in_schema=False)
async def project_events(
    project_id: str,
    request: Request,
    runtime: RuntimeDep,
    caller: ReaderDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 500,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Any:
    cursor = start_cursor(after, last_event_id)
    # A GET that accepts text/event-stream never gets here (web.stream_route answers it). HEAD answers like
    # polling whatever it accepts: a stream has no headers of its own to look at, and a HEAD must not hold
    # a connection open.
    body = await asyncio.to_thread(
        lambda: runtime.service.poll(project_id, caller=caller, after=cursor, limit=limit)
    )
    return JSONResponse(body, headers={"Cache-Control": "no-cache"})


async def _open(
    runtime: Runtime, project_id: str, caller: Caller, after: int, reads: SharedReads | None
) -> EventStream:
    return await open_stream(
        runtime.ledger,
        runtime.hub,
        project_id,
        caller=caller,
        after=after,
        ping_interval_s=runtime.settings.ping_interval_s,
        log=runtime.event_log,
        reads=reads,
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
        caller = await resolve_caller(websocket, allow_token=True)
        after = _ws_after(websocket.query_params.get("after", "0"))
        stream = await _open(runtime, project_id, caller, after, websocket.app.state.reads)
    except FramecastError as exc:
        await _close_with_problem(websocket, project_id, exc)
        return
    counted = websocket.app.state.metrics.streams.connect("websocket", stream.project.last_seq)
    # One task sends the stream, one reads the client's frames; whichever ends first ends the other (the
    # client left, the stream ended, or a frame the server cannot use), then the socket is closed from here
    # alone, so two tasks never send at once.
    tasks = (
        asyncio.create_task(_send_stream(websocket, stream, counted)),
        asyncio.create_task(_read_commands(websocket, stream)),
    )
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if pending:
            # asyncio.wait, not gather: a cancelled gather re-raises the child's CancelledError, which the
            # canceller (anyio's cancel scopes match their own message) would take for a foreign one.
            await asyncio.wait(pending)
        for task in done:
            task.result()
    except _GONE:
        pass  # the client went away; it resumes from its last seq
    except FramecastError as exc:
        await _close_with_problem(websocket, project_id, exc)
    except Exception:  # noqa: BLE001 - last resort: a bug must still close the socket (1011), not hang it
        log.exception("WebSocket stream of %s failed", project_id)
        await _close_with_problem(websocket, project_id, None)
    finally:
        counted.close()
        for task in tasks:
            task.cancel()
        stream.close()


async def _send_stream(websocket: WebSocket, stream: EventStream, counted: StreamConnection) -> None:
    async for item in stream:
        await websocket.send_text(_envelope(item))
        if isinstance(item, Event):
            counted.sent(item)
    await websocket.close(code=1000)


#: What sending to (or closing) a socket the client already left raises: Starlette's disconnect, its
#: RuntimeError for a send after the close, uvicorn's ClientDisconnected (an OSError).
_GONE = (WebSocketDisconnect, RuntimeError, OSError)


def _ws_after(raw: str) -> int:
    after = parse_cursor(raw)
    if after is None:
        raise InvalidInput(
            f"after must be a whole number from 0 to {MAX_SEQ}, in ASCII digits.", field="after"
        )
    return after


async def _read_commands(websocket: WebSocket, stream: EventStream) -> None:
    """Client frames: ``{"type": "resume", "after": N}`` moves the cursor. Returns when the client leaves;
    raises UnusableMessage for any other frame (answered with a ``problem`` and close 1008)."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        stream.resume_from(_resume_after(message.get("text")))


def _resume_after(text: str | None) -> int:
    """The ``after`` of a resume frame; raises UnusableMessage for a frame that is not one."""
    usage = 'send {"type": "resume", "after": N} with N the last seq received'
    if text is None:
        raise UnusableMessage(f"Frames must be text: {usage}.")
    try:
        message = json.loads(text)
    except ValueError:
        raise UnusableMessage(f"The frame is not JSON: {usage}.") from None
    if not isinstance(message, dict):
        raise UnusableMessage(f"The frame must be a JSON object: {usage}.")
    if message.get("type") != "resume":
        raise UnusableMessage(f"Unknown message type {message.get('type')!r}: {usage}.")
    after = message.get("after")
    # bool is an int in Python, and JSON's true is no cursor
    if type(after) is not int or not 0 <= after <= MAX_SEQ:
        raise UnusableMessage(f"after must be a whole number from 0 to {MAX_SEQ}: {usage}.")
    return after


async def _close_with_problem(websocket: WebSocket, project_id: str, exc: FramecastError | None) -> None:
    """A ``problem`` envelope, then the close code of the error's class; None stands for a bug."""
    if isinstance(exc, Unavailable):
        log_unavailable(f"WebSocket stream of {project_id}", exc)
    envelope = {"type": EventType.PROBLEM, "project_id": project_id, "data": public_error(exc)}
    with contextlib.suppress(*_GONE):
        await websocket.send_text(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False))
        await websocket.close(code=ws_close_code(exc))
