"""Server-Sent Events framing of the one event iterator.

Persisted events carry ``id: <seq>`` so EventSource resumes with ``Last-Event-ID``; ``hello``, ``ping`` and
``resync`` carry no id (they are not in the log). A problem after the stream started becomes an ``error``
event followed by the end of the stream; the client reconnects from its last seq.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from framecast.domain.errors import FramecastError
from framecast.domain.models import Event
from framecast.services.event_stream import EventStream

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


async def sse_body(stream: EventStream, *, retry_ms: int) -> AsyncIterator[bytes]:
    try:
        yield f"retry: {retry_ms}\n\n".encode()
        async for item in stream:
            if isinstance(item, Event):
                yield frame(item.type, item.envelope_json, item.seq)
            else:
                yield frame(item.type, item.envelope())
    except FramecastError as exc:
        yield frame("error", {"type": "error", "project_id": stream.project.id, "data": exc.as_dict()})
    except Exception:  # noqa: BLE001 - once streaming, problems become events, never an HTTP error
        log.exception("SSE stream of %s failed", stream.project.id)
        yield frame(
            "error",
            {
                "type": "error",
                "project_id": stream.project.id,
                "data": {"code": "stream_error", "message": "The stream broke; reconnect to resume."},
            },
        )
    finally:
        stream.close()
