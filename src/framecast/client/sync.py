"""The synchronous client."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from framecast.client.auth import bearer_auth, resolve_api_key
from framecast.client.errors import ClientError, WaitTimeout, check
from framecast.client.follow import (
    AUTO_FALLBACK_AFTER,
    EAGER_REFRESH_S,
    POLL_PAGE,
    STATUS_EVENTS,
    EventCursor,
    FallBackToPolling,
    ProgressTracker,
    StreamProblem,
    Transport,
    WaitProgress,
    check_transport,
    close_error,
    finished,
    poll_delay_s,
    reconnect_delay_s,
    result_of,
    ws_url,
)
from framecast.client.sse import parse
from framecast.client.waiting import Interrupt, SnapshotCache

__all__ = ["Client", "ClientError", "WaitProgress", "WaitTimeout"]

log = logging.getLogger(__name__)


class Client:
    """Talks to a Framecast server. ``events()`` follows a project over SSE and resumes after a dropped
    connection from the last seq, so no event is missed or repeated.

    ``api_key``: sent as ``Authorization: Bearer`` on every request to this server (REST, the SSE stream,
    downloads) for a server with ``FRAMECAST_AUTH=keys``; when it is not given, ``FRAMECAST_API_KEY`` is
    read (an explicit ``""`` sends no key). A delivery token works in its place for reading its project.
    Without a key the server accepts, every call raises ClientError ``unauthenticated`` (status 401) at
    once: no retry can fix a key.

    >>> with Client("https://framecast.example", api_key="fc_…") as client:     # doctest: +SKIP
    ...     token = client.create_token(project_id, ttl_s=600)["token"]
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        self._api_key = resolve_api_key(api_key)
        self._http = httpx.Client(
            base_url=base, timeout=timeout, transport=transport, auth=bearer_auth(api_key, base)
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def engines(self) -> dict[str, Any]:
        """The engines the server has, with what each accepts: ``{default, engines: [EngineInfo…]}``."""
        data: dict[str, Any] = check(self._http.get("/api/engines")).json()
        return data

    def create_project(
        self, *, idempotency_key: str | None = None, engine: str | None = None, **body: Any
    ) -> dict[str, Any]:
        """Create a project from ``prompt=`` or ``timeline=`` and the video options; ``engine`` picks one of
        :meth:`engines` (default: the server's, procedural)."""
        if engine is not None:
            body["engine"] = engine
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data: dict[str, Any] = check(self._http.post("/api/projects", json=body, headers=headers)).json()
        return data

    def get_project(self, project_id: str) -> dict[str, Any]:
        data: dict[str, Any] = check(self._http.get(f"/api/projects/{project_id}")).json()
        return data

    def cancel(self, project_id: str) -> dict[str, Any]:
        data: dict[str, Any] = check(self._http.post(f"/api/projects/{project_id}/cancel")).json()
        return data

    def create_token(self, project_id: str, ttl_s: int | None = None) -> dict[str, Any]:
        """A delivery token that reads this one project (snapshot, events, its files) and nothing else,
        for a browser or a script that should not hold the key: ``{token, expires_at, project_id}``. Pass
        it as ``?token=`` or as the Bearer key. ``ttl_s``: its lifetime (server default: an hour)."""
        body = {} if ttl_s is None else {"ttl_s": ttl_s}
        data: dict[str, Any] = check(self._http.post(f"/api/projects/{project_id}/tokens", json=body)).json()
        return data

    def retry(self, project_id: str) -> dict[str, Any]:
        data: dict[str, Any] = check(self._http.post(f"/api/projects/{project_id}/retry")).json()
        return data

    def poll(self, project_id: str, after: int = 0) -> dict[str, Any]:
        data: dict[str, Any] = check(
            self._http.get(f"/api/projects/{project_id}/events", params={"after": after})
        ).json()
        return data

    def events(
        self, project_id: str, after: int = 0, *, max_reconnects: int = 20
    ) -> Iterator[dict[str, Any]]:
        """Persisted events of the project (envelopes), until its terminal ``project_status``."""
        return self._sse(project_id, EventCursor(after), max_reconnects, Interrupt(), fallback=False)

    def _sse(
        self, project_id: str, cursor: EventCursor, max_reconnects: int, stop: Interrupt, *, fallback: bool
    ) -> Iterator[dict[str, Any]]:
        failures = 0
        unheard = 0  # connections in a row that never said hello (auto falls back to polling after a few)
        while not stop.fired:
            try:
                with self._http.stream(
                    "GET",
                    f"/api/projects/{project_id}/events",
                    params={"after": cursor.seq},
                    headers={"Accept": "text/event-stream"},
                    timeout=httpx.Timeout(10.0, read=60.0),
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        check(response)
                    stop.attach(response)
                    try:
                        for message in parse(response.iter_lines()):
                            if message.event == "hello":
                                unheard = -1
                            envelope = cursor.take(message)
                            if envelope is not None:
                                failures = 0
                                yield envelope
                    finally:
                        stop.detach()  # the connection may go back to the pool: never cut it there
                if stop.fired:
                    return
                if cursor.ended or finished(self.get_project(project_id), cursor.seq):
                    return
                # The stream ended early (a proxy timeout, a server restart): back off, resume.
                failures += 1
                if failures > max_reconnects:
                    raise ClientError(503, "stream_unavailable", "The event stream kept ending early.")
            except StreamProblem as problem:
                failures += 1
                if failures > max_reconnects:
                    raise ClientError(503, problem.code, problem.message) from problem
            except httpx.TransportError:
                if stop.fired:
                    return
                failures += 1
                if failures > max_reconnects:
                    raise
            except ClientError as exc:
                if not exc.unavailable:
                    raise
                # The server's database, broker or storage is down (503): resume once it is back, not
                # sooner than its Retry-After.
                failures += 1
                if failures > max_reconnects:
                    raise
                stop.sleep(max(reconnect_delay_s(failures), exc.retry_after or 0.0))
                continue
            unheard += 1
            if fallback and unheard >= AUTO_FALLBACK_AFTER:
                raise FallBackToPolling
            stop.sleep(reconnect_delay_s(failures))

    def _poll_events(
        self,
        project_id: str,
        cursor: EventCursor,
        max_reconnects: int,
        stop: Interrupt,
        interval_s: float | None,
    ) -> Iterator[dict[str, Any]]:
        failures = 0
        while not stop.fired:
            try:
                body = self.poll(project_id, after=cursor.seq)
            except httpx.TransportError:
                failures += 1
                if failures > max_reconnects:
                    raise
                stop.sleep(reconnect_delay_s(failures))
                continue
            except ClientError as exc:
                if not exc.unavailable:
                    raise
                failures += 1
                if failures > max_reconnects:
                    raise
                stop.sleep(max(reconnect_delay_s(failures), exc.retry_after or 0.0))
                continue
            failures = 0
            for event in body.get("events") or []:
                envelope = cursor.take_envelope(event)
                if envelope is not None:
                    yield envelope
            if body.get("terminal") or cursor.ended:
                return
            if len(body.get("events") or []) < POLL_PAGE:
                stop.sleep(poll_delay_s(body, interval_s))

    def _ws_events(
        self, project_id: str, cursor: EventCursor, max_reconnects: int, stop: Interrupt
    ) -> Iterator[dict[str, Any]]:
        from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        failures = 0
        while not stop.fired:
            problem: StreamProblem | None = None
            code: int | None = None
            try:
                with connect(
                    ws_url(str(self._http.base_url), project_id, cursor.seq),
                    additional_headers=headers,
                    open_timeout=10,
                ) as ws:
                    stop.attach_ws(ws)
                    try:
                        while True:
                            try:
                                envelope = cursor.take_frame(str(ws.recv()))
                            except StreamProblem as said:
                                problem = said  # the close that follows says whether to come back
                                continue
                            if envelope is not None:
                                failures = 0
                                yield envelope
                    except ConnectionClosed as closed:
                        code = closed.rcvd.code if closed.rcvd is not None else None
                    finally:
                        stop.detach()
            except InvalidStatus as refused:
                status = refused.response.status_code
                if status != 503:
                    raise ClientError(
                        status, "unauthenticated" if status == 401 else "error", str(refused)
                    ) from None
            except (OSError, WebSocketException):
                pass
            if stop.fired:
                return
            error = close_error(code, problem)
            if error is not None:
                raise error
            if cursor.ended or finished(self.get_project(project_id), cursor.seq):
                return
            failures += 1
            if failures > max_reconnects:
                raise ClientError(503, "stream_unavailable", "The WebSocket kept closing early.")
            stop.sleep(reconnect_delay_s(failures))

    def _follow(
        self,
        project_id: str,
        cursor: EventCursor,
        transport: str,
        max_reconnects: int,
        stop: Interrupt,
        interval_s: float | None,
    ) -> Iterator[dict[str, Any]]:
        if transport == "poll":
            yield from self._poll_events(project_id, cursor, max_reconnects, stop, interval_s)
        elif transport == "ws":
            yield from self._ws_events(project_id, cursor, max_reconnects, stop)
        else:
            try:
                yield from self._sse(project_id, cursor, max_reconnects, stop, fallback=transport == "auto")
            except FallBackToPolling:
                log.info("the event stream of %s kept failing; polling instead", project_id)
                yield from self._poll_events(project_id, cursor, max_reconnects, stop, interval_s)

    def wait(
        self,
        project_id: str,
        *,
        timeout: float | None = None,
        transport: Transport = "auto",
        on_event: Callable[[dict[str, Any]], object] | None = None,
        on_progress: Callable[[WaitProgress], object] | None = None,
        poll_interval: float | None = None,
        after: int = 0,
        max_reconnects: int = 20,
    ) -> dict[str, Any]:
        """Follow the project to its end; returns the ``render_result`` object (``url``, ``poster_url``,
        ``duration_s``…) or raises ClientError (``failed``/``cancelled`` codes for a project that did not
        complete).

        - ``timeout``: seconds; when they run out, :class:`WaitTimeout` (the project keeps running).
        - ``transport``: ``auto`` (SSE, polling if SSE keeps failing), ``sse``, ``ws`` or ``poll``.
        - ``on_event(envelope)``: every persisted event, once each, in seq order.
        - ``on_progress(WaitProgress)``: the project's overall progress, queue position and ETA, read from
          the snapshot at once, after status changes, at most every 0.25 s while events flow and every
          ``poll_interval`` seconds otherwise (default: the server's ``next_poll_ms``), and once at the end.
        - ``poll_interval``: seconds between polls (``transport="poll"``) and snapshot reads.

        Callbacks run in the calling thread; an exception from one ends the wait and propagates.

        >>> client.wait(pid, timeout=600, on_progress=lambda p: print(f"{p.progress:.0%}"))  # doctest: +SKIP
        """
        check_transport(transport)
        deadline = None if timeout is None else time.monotonic() + timeout
        cursor = EventCursor(after)
        stop = Interrupt()
        inbox: queue.Queue[tuple[str, Any]] = queue.Queue()

        def read() -> None:
            try:
                for envelope in self._follow(
                    project_id, cursor, transport, max_reconnects, stop, poll_interval
                ):
                    inbox.put(("event", envelope))
                inbox.put(("end", None))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                inbox.put(("error", exc))

        reader = threading.Thread(target=read, name=f"framecast-wait-{project_id}", daemon=True)
        tracker = ProgressTracker()
        view = SnapshotCache(self._http, project_id)
        refreshed, due = 0.0, 0.0  # monotonic times: the last snapshot read, the next one
        reader.start()
        try:
            while True:
                now = time.monotonic()
                if on_progress is not None and now >= due:
                    try:
                        snapshot = view.get()
                    except (httpx.TransportError, ClientError) as exc:
                        if isinstance(exc, ClientError) and not exc.unavailable:
                            raise
                        refreshed, due = now, now + poll_delay_s({}, poll_interval)  # the reader rides it out
                    else:
                        on_progress(tracker.update(snapshot))
                        refreshed, due = now, now + poll_delay_s(snapshot, poll_interval)
                if deadline is not None and now >= deadline:
                    raise WaitTimeout(project_id, float(timeout or 0), view.latest_or_read(), cursor.seq)
                limits = [t - now for t in (deadline, due if on_progress else None) if t is not None]
                try:
                    kind, value = inbox.get(timeout=max(0.0, min(limits)) if limits else None)
                except queue.Empty:
                    continue
                if kind == "error":
                    raise value
                if kind == "end":
                    break
                if on_event is not None:
                    on_event(value)
                due = min(due, refreshed + (0.0 if value.get("type") in STATUS_EVENTS else EAGER_REFRESH_S))
        finally:
            stop.fire()
            reader.join(timeout=5)
        final = self.get_project(project_id)
        if on_progress is not None:
            on_progress(tracker.update(final))
        return result_of(final)

    def download(self, url: str, path: str | Path) -> Path:
        target = Path(path)
        tmp = target.with_name(f".{target.name}.part")
        with self._http.stream("GET", url) as response:
            if response.status_code >= 400:
                response.read()
                check(response)
            with tmp.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        tmp.replace(target)
        return target
