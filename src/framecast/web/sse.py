"""Server-Sent Events framing of the one event iterator.

Persisted events carry ``id: <seq>`` so EventSource resumes with ``Last-Event-ID``; ``hello``, ``ping``,
``resync`` and ``problem`` carry no id (they are not in the log). A problem after the stream started (the
database went away, the project was deleted) becomes a ``problem`` event and the end of the stream: the
client reconnects from its last seq, and meets a 503 with ``Retry-After`` until the outage is over. Before
the stream starts, errors are ordinary HTTP answers (see ``web.errors``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from framecast.domain.errors import FramecastError, Unavailable
from framecast.domain.events import EventType
from framecast.domain.models import Event
from framecast.services.event_stream import EventStream
from framecast.web.errors import RETRY_AFTER_S, log_unavailable, public_error
from framecast.web.metrics import StreamMetrics

log = logging.getLogger(__name__)

HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",  # nginx: do not buffer this response
    "Connection": "keep-alive",
}


def frame(item_type: str, data: object, seq: int | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {item_type}\ndata: {payload}\n\n".encode()


def problem_frame(project_id: str, exc: FramecastError | None) -> bytes:
    """The ``problem`` event for ``exc`` (None: a bug). After an outage it also sets the EventSource's
    reconnection delay to the 503's Retry-After; the next ``hello`` stream sets it back."""
    envelope = {"type": EventType.PROBLEM, "project_id": project_id, "data": public_error(exc)}
    retry = f"retry: {RETRY_AFTER_S * 1000}\n".encode() if isinstance(exc, Unavailable) else b""
    return retry + frame(EventType.PROBLEM, envelope)


async def sse_body(
    stream: EventStream, *, retry_ms: int, meter: StreamMetrics | None = None
) -> AsyncIterator[bytes]:
    """The stream as SSE. ``retry:`` rides in the block of the first message (``hello``): a block of its own,
    with no data, is dispatched by some clients as an empty message.

    What the stream already holds goes out as one chunk (``EventStream.more_ready``): ``hello`` and the
    replay after it are one socket write, not one per event (each write walks the middleware stack and
    is a system call; at a reconnect storm that was most of what an open cost)."""
    counted = meter.connect("sse", stream.project.last_seq) if meter is not None else None
    retry = f"retry: {retry_ms}\n".encode()
    held: list[bytes] = []
    try:
        async for item in stream:
            if isinstance(item, Event):
                block = frame(item.type, item.envelope_json, item.seq)
            else:
                block = frame(item.type, item.envelope())
            held.append(retry + block if retry else block)
            retry = b""
            if counted is not None and isinstance(item, Event):
                counted.sent(item)
            if not stream.more_ready:
                yield b"".join(held)
                held.clear()
        if held:
            yield b"".join(held)
    except FramecastError as exc:
        if isinstance(exc, Unavailable):
            log_unavailable(f"SSE stream of {stream.project.id}", exc)
        yield b"".join(held) + problem_frame(stream.project.id, exc)
    except Exception:  # noqa: BLE001 - last resort: the status line is sent, so a bug can only be an event
        log.exception("SSE stream of %s failed", stream.project.id)
        yield b"".join(held) + problem_frame(stream.project.id, None)
    finally:
        if counted is not None:
            counted.close()
        stream.close()
