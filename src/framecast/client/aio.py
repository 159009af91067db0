"""The asynchronous client: the twin of :class:`framecast.client.sync.Client`."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable
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
from framecast.client.sse import SSEDecoder

log = logging.getLogger(__name__)


async def _call(callback: Callable[[Any], object], value: Any) -> None:
    result = callback(value)
    if inspect.isawaitable(result):
        await result


class AsyncClient:
    """Talks to a Framecast server from asyncio code. ``api_key`` works as in the sync client (argument, else
    ``FRAMECAST_API_KEY``; a 401 raises ClientError ``unauthenticated`` at once).

    >>> async with AsyncClient("http://127.0.0.1:8000") as client:          # doctest: +SKIP
    ...     project = await client.create_project(prompt="Rain on a tin roof", duration_s=3)
    ...     async for event in client.aiter_events(project["id"]):
    ...         print(event["seq"], event["type"])
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        self._api_key = resolve_api_key(api_key)
        self._http = httpx.AsyncClient(
            base_url=base, timeout=timeout, transport=transport, auth=bearer_auth(api_key, base)
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def engines(self) -> dict[str, Any]:
        """The engines the server has, with what each accepts: ``{default, engines: [EngineInfo…]}``."""
        data: dict[str, Any] = check(await self._http.get("/api/engines")).json()
        return data

    async def create_project(
        self, *, idempotency_key: str | None = None, engine: str | None = None, **body: Any
    ) -> dict[str, Any]:
        """Create a project from ``prompt=`` or ``timeline=`` and the video options; ``engine`` picks one of
        :meth:`engines` (default: the server's, procedural)."""
        if engine is not None:
            body["engine"] = engine
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data: dict[str, Any] = check(
            await self._http.post("/api/projects", json=body, headers=headers)
        ).json()
        return data

    async def get_project(self, project_id: str) -> dict[str, Any]:
        data: dict[str, Any] = check(await self._http.get(f"/api/projects/{project_id}")).json()
        return data

    async def cancel(self, project_id: str) -> dict[str, Any]:
        data: dict[str, Any] = check(await self._http.post(f"/api/projects/{project_id}/cancel")).json()
        return data

    async def create_token(self, project_id: str, ttl_s: int | None = None) -> dict[str, Any]:
        """A delivery token for this one project (see ``Client.create_token``)."""
        body = {} if ttl_s is None else {"ttl_s": ttl_s}
        data: dict[str, Any] = check(
            await self._http.post(f"/api/projects/{project_id}/tokens", json=body)
        ).json()
        return data

    async def retry(self, project_id: str) -> dict[str, Any]:
        data: dict[str, Any] = check(await self._http.post(f"/api/projects/{project_id}/retry")).json()
        return data

    async def poll(self, project_id: str, after: int = 0) -> dict[str, Any]:
        data: dict[str, Any] = check(
            await self._http.get(f"/api/projects/{project_id}/events", params={"after": after})
        ).json()
        return data

    async def aiter_events(
        self, project_id: str, after: int = 0, *, max_reconnects: int = 20
    ) -> AsyncIterator[dict[str, Any]]:
        """Persisted events after ``after``, resuming after dropped connections, until the project ends."""
        async for envelope in self._sse(project_id, EventCursor(after), max_reconnects, fallback=False):
            yield envelope

    async def _sse(
        self, project_id: str, cursor: EventCursor, max_reconnects: int, *, fallback: bool
    ) -> AsyncIterator[dict[str, Any]]:
        failures = 0
        unheard = 0  # connections in a row that never said hello (auto falls back to polling after a few)
        while True:
            try:
                async with self._http.stream(
                    "GET",
                    f"/api/projects/{project_id}/events",
                    params={"after": cursor.seq},
                    headers={"Accept": "text/event-stream"},
                    timeout=httpx.Timeout(10.0, read=60.0),
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        check(response)
                    decoder = SSEDecoder()
                    async for line in response.aiter_lines():
                        message = decoder.feed(line)
                        if message is not None and message.event == "hello":
                            unheard = -1
                        envelope = cursor.take(message) if message is not None else None
                        if envelope is not None:
                            failures = 0
                            yield envelope
                if cursor.ended or finished(await self.get_project(project_id), cursor.seq):
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
                await asyncio.sleep(max(reconnect_delay_s(failures), exc.retry_after or 0.0))
                continue
            unheard += 1
            if fallback and unheard >= AUTO_FALLBACK_AFTER:
                raise FallBackToPolling
            await asyncio.sleep(reconnect_delay_s(failures))

    async def _poll_events(
        self, project_id: str, cursor: EventCursor, max_reconnects: int, interval_s: float | None
    ) -> AsyncIterator[dict[str, Any]]:
        failures = 0
        while True:
            try:
                body = await self.poll(project_id, after=cursor.seq)
            except httpx.TransportError:
                failures += 1
                if failures > max_reconnects:
                    raise
                await asyncio.sleep(reconnect_delay_s(failures))
                continue
            except ClientError as exc:
                if not exc.unavailable:
                    raise
                failures += 1
                if failures > max_reconnects:
                    raise
                await asyncio.sleep(max(reconnect_delay_s(failures), exc.retry_after or 0.0))
                continue
            failures = 0
            for event in body.get("events") or []:
                envelope = cursor.take_envelope(event)
                if envelope is not None:
                    yield envelope
            if body.get("terminal") or cursor.ended:
                return
            if len(body.get("events") or []) < POLL_PAGE:
                await asyncio.sleep(poll_delay_s(body, interval_s))

    async def _ws_events(
        self, project_id: str, cursor: EventCursor, max_reconnects: int
    ) -> AsyncIterator[dict[str, Any]]:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        failures = 0
        while True:
            problem: StreamProblem | None = None
            code: int | None = None
            try:
                async with connect(
                    ws_url(str(self._http.base_url), project_id, cursor.seq),
                    additional_headers=headers,
                    open_timeout=10,
                ) as ws:
                    try:
                        while True:
                            try:
                                envelope = cursor.take_frame(str(await ws.recv()))
                            except StreamProblem as said:
                                problem = said  # the close that follows says whether to come back
                                continue
                            if envelope is not None:
                                failures = 0
                                yield envelope
                    except ConnectionClosed as closed:
                        code = closed.rcvd.code if closed.rcvd is not None else None
            except InvalidStatus as refused:
                status = refused.response.status_code
                if status != 503:
                    raise ClientError(
                        status, "unauthenticated" if status == 401 else "error", str(refused)
                    ) from None
            except (OSError, WebSocketException):
                pass
            error = close_error(code, problem)
            if error is not None:
                raise error
            if cursor.ended or finished(await self.get_project(project_id), cursor.seq):
                return
            failures += 1
            if failures > max_reconnects:
                raise ClientError(503, "stream_unavailable", "The WebSocket kept closing early.")
            await asyncio.sleep(reconnect_delay_s(failures))

    async def _follow(
        self,
        project_id: str,
        cursor: EventCursor,
        transport: str,
        max_reconnects: int,
        interval_s: float | None,
    ) -> AsyncIterator[dict[str, Any]]:
        if transport == "poll":
            events = self._poll_events(project_id, cursor, max_reconnects, interval_s)
        elif transport == "ws":
            events = self._ws_events(project_id, cursor, max_reconnects)
        else:
            events = self._sse(project_id, cursor, max_reconnects, fallback=transport == "auto")
        try:
            async for envelope in events:
                yield envelope
        except FallBackToPolling:
            log.info("the event stream of %s kept failing; polling instead", project_id)
            async for envelope in self._poll_events(project_id, cursor, max_reconnects, interval_s):
                yield envelope

    async def wait(
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
        """Follow the project to its end; returns the ``render_result`` object or raises ClientError.
        The options are the sync ``Client.wait``'s; the callbacks may be plain functions or coroutine
        functions (awaited in turn)."""
        check_transport(transport)
        deadline = None if timeout is None else time.monotonic() + timeout
        cursor = EventCursor(after)
        inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        async def read() -> None:
            try:
                async for envelope in self._follow(
                    project_id, cursor, transport, max_reconnects, poll_interval
                ):
                    inbox.put_nowait(("event", envelope))
                inbox.put_nowait(("end", None))
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
                inbox.put_nowait(("error", exc))

        reader = asyncio.create_task(read(), name=f"framecast-wait-{project_id}")
        tracker = ProgressTracker()
        etag: str | None = None
        latest: dict[str, Any] | None = None

        async def snapshot() -> dict[str, Any]:
            nonlocal etag, latest
            headers = {"If-None-Match": etag} if etag and latest is not None else {}
            response = await self._http.get(f"/api/projects/{project_id}", headers=headers)
            if response.status_code == 304 and latest is not None:
                return latest
            found: dict[str, Any] = check(response).json()
            etag, latest = response.headers.get("etag"), found
            return found

        refreshed, due = 0.0, 0.0
        try:
            while True:
                now = time.monotonic()
                if on_progress is not None and now >= due:
                    try:
                        current = await snapshot()
                    except (httpx.TransportError, ClientError) as exc:
                        if isinstance(exc, ClientError) and not exc.unavailable:
                            raise
                        refreshed, due = now, now + poll_delay_s({}, poll_interval)  # the reader rides it out
                    else:
                        await _call(on_progress, tracker.update(current))
                        refreshed, due = now, now + poll_delay_s(current, poll_interval)
                if deadline is not None and now >= deadline:
                    if latest is None:
                        with contextlib.suppress(httpx.TransportError, ClientError):
                            await snapshot()
                    raise WaitTimeout(project_id, float(timeout or 0), latest, cursor.seq)
                limits = [t - now for t in (deadline, due if on_progress else None) if t is not None]
                try:
                    if limits:
                        kind, value = await asyncio.wait_for(inbox.get(), max(0.0, min(limits)))
                    else:
                        kind, value = await inbox.get()
                except TimeoutError:
                    continue
                if kind == "error":
                    raise value
                if kind == "end":
                    break
                if on_event is not None:
                    await _call(on_event, value)
                due = min(due, refreshed + (0.0 if value.get("type") in STATUS_EVENTS else EAGER_REFRESH_S))
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        final = await self.get_project(project_id)
        if on_progress is not None:
            await _call(on_progress, tracker.update(final))
        return result_of(final)

    async def download(self, url: str, path: str | Path) -> Path:
        target = Path(path)
        tmp = target.with_name(f".{target.name}.part")
        async with self._http.stream("GET", url) as response:
            if response.status_code >= 400:
                await response.aread()
                check(response)
            with tmp.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
        tmp.replace(target)
        return target
