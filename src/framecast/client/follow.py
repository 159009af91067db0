"""Following a project's event log without I/O: the part the sync and async clients share.

The clients own the connections; this module decides what each stream message means (an event to yield,
a message to skip, a problem that ends the connection), keeps the cursor, says when the log is finished
and how long to wait before reconnecting.

>>> cursor = EventCursor(after=0)
>>> cursor.take(SSEMessage(event="hello", data='{"last_seq": 0}')) is None
True
>>> cursor.take(SSEMessage(event="file", data='{"seq": 1, "type": "file", "data": {}}'))["seq"]
1
>>> cursor.seq
1
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from framecast.client.errors import ClientError
from framecast.client.sse import SSEMessage

#: Messages that belong to the stream, not the log: they carry no seq and are never yielded.
STREAM_ONLY = frozenset({"hello", "ping", "retry", "resync", "message"})
#: A problem after the stream started (``error`` from servers before ``problem`` was named).
PROBLEM_EVENTS = frozenset({"problem", "error"})

BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 5.0


class StreamProblem(Exception):
    """Raised by :meth:`EventCursor.take` when the server reports a problem on the stream: end this
    connection and reconnect from the cursor."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def should_skip(event: str, data: str) -> bool:
    """Stream-only messages (hello, ping, resync, retry) carry no seq; the SDK yields log events only."""
    return event in STREAM_ONLY or not data


class EventCursor:
    """The last seq yielded, and whether the terminal ``project_status`` has been seen.

    ``take`` is fed every decoded message of every connection; duplicates across reconnects (a server
    replaying from an older cursor) are dropped by seq, so the caller yields each event exactly once.
    """

    def __init__(self, after: int = 0) -> None:
        self.seq = after
        self.ended = False

    def take(self, message: SSEMessage) -> dict[str, Any] | None:
        """The envelope to yield for ``message``, or None (stream-only, repeated, or without a seq)."""
        if should_skip(message.event, message.data):
            return None
        envelope: dict[str, Any] = json.loads(message.data)
        if message.event in PROBLEM_EVENTS:
            problem = envelope.get("data") or envelope
            raise StreamProblem(str(problem.get("code", "error")), str(problem.get("message", "")))
        seq = envelope.get("seq")
        if not isinstance(seq, int) or seq <= self.seq:
            return None
        self.seq = seq
        if envelope.get("type") == "project_status" and (envelope.get("data") or {}).get("terminal"):
            self.ended = True
        return envelope


def finished(snapshot: dict[str, Any], seq: int) -> bool:
    """True when the project is terminal and ``seq`` has reached its last event (nothing left to read)."""
    return bool(snapshot["terminal"]) and seq >= int(snapshot["last_seq"])


def result_of(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The ``render_result`` object of a completed project; raises ClientError for any other status."""
    if snapshot["status"] != "completed":
        error = snapshot.get("error") or {}
        raise ClientError(
            200, error.get("code", snapshot["status"]), error.get("message", snapshot["status"])
        )
    result: dict[str, Any] = snapshot["result"]
    return result


def reconnect_delay_s(
    failures: int,
    *,
    base_s: float = BACKOFF_BASE_S,
    cap_s: float = BACKOFF_CAP_S,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before reconnect number ``failures`` (1, 2, ...): capped doubling with equal jitter.

    The ceiling doubles from ``base_s`` up to ``cap_s``; the delay is half the ceiling plus a random part
    of the other half, so clients cut off together (a server restart) do not all come back in the same
    instant, and none comes back at once. ``rng`` returns a float in [0, 1).

    >>> [round(reconnect_delay_s(n, rng=lambda: 0.0), 2) for n in (1, 2, 3, 10)]
    [0.2, 0.4, 0.8, 2.5]
    >>> reconnect_delay_s(100, rng=lambda: 0.5)
    3.75
    """
    ceiling = min(cap_s, base_s * 2.0 ** min(max(failures, 0), 32))  # 2**32 x base is past any cap
    half = ceiling / 2
    return half + half * rng()
