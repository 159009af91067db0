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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from framecast.client.errors import ClientError
from framecast.client.sse import SSEMessage

#: Messages that belong to the stream, not the log: they carry no seq and are never yielded.
STREAM_ONLY = frozenset({"hello", "ping", "retry", "resync", "message"})
#: A problem after the stream started (``error`` from servers before ``problem`` was named).
PROBLEM_EVENTS = frozenset({"problem", "error"})

BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 5.0

#: How ``wait`` follows a project: ``sse`` (the event stream), ``ws`` (the WebSocket), ``poll`` (JSON
#: polling at the server's ``next_poll_ms``), or ``auto``: SSE, and polling from the same cursor once
#: SSE has failed ``AUTO_FALLBACK_AFTER`` times in a row (a proxy that buffers or cuts streams).
Transport = Literal["auto", "sse", "ws", "poll"]
TRANSPORTS: tuple[str, ...] = ("auto", "sse", "ws", "poll")
AUTO_FALLBACK_AFTER = 3
#: JSON polling's page (the server's default ``limit``): a full page means more is waiting.
POLL_PAGE = 500
#: While events flow, ``on_progress`` re-reads the snapshot at most this often; at once after these.
EAGER_REFRESH_S = 0.25
STATUS_EVENTS = frozenset({"task_status", "project_status", "render_result"})


class StreamProblem(Exception):
    """Raised by :meth:`EventCursor.take` when the server reports a problem on the stream: end this
    connection and reconnect from the cursor."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class FallBackToPolling(Exception):
    """Raised inside ``wait(transport="auto")`` when SSE keeps failing: go on by polling, same cursor."""


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
        return self.take_envelope(envelope)

    def take_frame(self, text: str) -> dict[str, Any] | None:
        """The same for a WebSocket text frame (the envelope alone; its ``type`` says what it is)."""
        envelope = json.loads(text)
        if not isinstance(envelope, dict):
            return None
        kind = envelope.get("type")
        if kind in PROBLEM_EVENTS:
            problem = envelope.get("data") or envelope
            raise StreamProblem(str(problem.get("code", "error")), str(problem.get("message", "")))
        if kind in STREAM_ONLY:
            return None
        return self.take_envelope(envelope)

    def take_envelope(self, envelope: dict[str, Any]) -> dict[str, Any] | None:
        """``envelope`` if it is the next one of the log (a seq past the cursor), else None; JSON
        polling's events come through here as they are."""
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
            200,
            error.get("code", snapshot["status"]),
            error.get("message") or f"The project ended as {snapshot['status']}.",
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


def poll_delay_s(body: dict[str, Any], interval_s: float | None) -> float:
    """Seconds until the next poll: the caller's ``interval_s``, else the server's ``next_poll_ms``.

    >>> poll_delay_s({"next_poll_ms": 2000}, None), poll_delay_s({"next_poll_ms": 2000}, 0.5)
    (2.0, 0.5)
    """
    if interval_s is not None:
        return max(0.05, interval_s)
    hint = body.get("next_poll_ms")
    return hint / 1000 if isinstance(hint, int | float) and hint > 0 else 1.0


def check_transport(transport: str) -> None:
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")


@dataclass(frozen=True)
class WaitProgress:
    """What ``wait(on_progress=...)`` reports, from the project snapshot.

    ``progress``: the project's overall progress 0..1 (the snapshot's, weighted over its tasks; not one
    chunk's), never lower than an earlier report of the same wait (a task that starts again after a crash
    does not move it back). ``queue_position``: how many projects are ahead while it is queued (None once
    it runs). ``eta_s``: seconds left, estimated from the progress rate since it started running (None
    until there is a rate). ``snapshot``: the snapshot itself."""

    status: str
    terminal: bool
    progress: float
    queue_position: int | None
    eta_s: float | None
    snapshot: dict[str, Any]


class ProgressTracker:
    """Turns successive snapshots into :class:`WaitProgress` reports.

    >>> clock = iter([0.0, 10.0, 20.0]).__next__
    >>> tracker = ProgressTracker(clock=clock)
    >>> tracker.update({"status": "running", "terminal": False, "progress": 0.1}).eta_s is None
    True
    >>> tracker.update({"status": "running", "terminal": False, "progress": 0.3}).eta_s
    35.0
    >>> later = tracker.update({"status": "running", "terminal": False, "progress": 0.2})
    >>> later.progress, later.eta_s
    (0.3, 70.0)
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._best = 0.0
        self._start: tuple[float, float] | None = None

    def update(self, snapshot: dict[str, Any]) -> WaitProgress:
        now = self._clock()
        status = str(snapshot.get("status", ""))
        terminal = bool(snapshot.get("terminal"))
        raw = min(1.0, max(0.0, float(snapshot.get("progress") or 0.0)))
        if status == "completed":
            raw = 1.0
        self._best = max(self._best, raw)
        eta: float | None = None
        if status == "completed":
            eta = 0.0
        elif status == "running":
            if self._start is None:
                self._start = (now, self._best)
            started, from_progress = self._start
            gained = self._best - from_progress
            if gained > 0 and now > started:
                eta = round((1.0 - self._best) * (now - started) / gained, 1)
        else:
            self._start = None  # queued again (a retry): the old rate says nothing
        position = snapshot.get("queue_position")
        return WaitProgress(
            status=status,
            terminal=terminal,
            progress=self._best,
            queue_position=position if isinstance(position, int) and status == "queued" else None,
            eta_s=eta,
            snapshot=snapshot,
        )


def ws_url(base_url: str, project_id: str, after: int) -> str:
    """The WebSocket URL of a project's events, from the client's base URL.

    >>> ws_url("https://fc.example/base/", "prj_1", 7)
    'wss://fc.example/base/api/projects/prj_1/ws?after=7'
    """
    base = base_url.rstrip("/")
    scheme, _, rest = base.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/projects/{project_id}/ws?after={after}"


def close_error(code: int | None, problem: StreamProblem | None) -> ClientError | None:
    """The error a WebSocket close code stands for when reconnecting cannot help (4000 + an HTTP status of
    the client's problem: 4404 unknown project, 4401 no key...), else None (reconnect)."""
    if code is None or not 4000 <= code < 5000 or code == 4503:
        return None
    status = code - 4000
    if problem is not None:
        return ClientError(status, problem.code, problem.message)
    return ClientError(
        status, "unauthenticated" if status == 401 else "error", f"WebSocket closed with {code}."
    )
