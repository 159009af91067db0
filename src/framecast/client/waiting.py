"""What the sync client's ``wait`` needs besides the event loops: a way to stop its reader thread at once,
and the snapshot re-read with ``If-None-Match``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx

from framecast.client.errors import ClientError, check


class Interrupt:
    """Stops a ``wait``'s reader thread: sets the flag its loops check, wakes its sleeps, and cuts the
    connection it is blocked reading (shutting the socket down wakes a blocked ``recv`` at once)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._cut: Callable[[], None] | None = None

    @property
    def fired(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> None:
        self._event.wait(seconds)

    def _arm(self, cut: Callable[[], None]) -> None:
        with self._lock:
            self._cut = cut
            if self.fired:
                cut()

    def detach(self) -> None:
        with self._lock:
            self._cut = None

    def attach(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return  # an in-memory transport: the flag alone stops it

        def cut() -> None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

        self._arm(cut)

    def attach_ws(self, ws: Any) -> None:
        self._arm(ws.close)

    def fire(self) -> None:
        self._event.set()
        with self._lock:  # held while cutting, so a connection detached meanwhile is never touched
            if self._cut is not None:
                self._cut()
                self._cut = None


class SnapshotCache:
    """The project's snapshot, re-read with ``If-None-Match`` (a 304 costs the server next to nothing)."""

    def __init__(self, http: httpx.Client, project_id: str) -> None:
        self._http = http
        self._path = f"/api/projects/{project_id}"
        self._etag: str | None = None
        self._snapshot: dict[str, Any] | None = None

    def latest_or_read(self) -> dict[str, Any] | None:
        """The last snapshot read, or one read now; None if the server cannot say (for error messages)."""
        if self._snapshot is None:
            try:
                self.get()
            except (httpx.TransportError, ClientError):
                pass
        return self._snapshot

    def get(self) -> dict[str, Any]:
        headers = {"If-None-Match": self._etag} if self._etag and self._snapshot is not None else {}
        response = self._http.get(self._path, headers=headers)
        if response.status_code == 304 and self._snapshot is not None:
            return self._snapshot
        snapshot: dict[str, Any] = check(response).json()
        self._etag, self._snapshot = response.headers.get("etag"), snapshot
        return snapshot
