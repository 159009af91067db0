"""The asynchronous client: the twin of :class:`framecast.client.sync.Client`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from framecast.client.auth import bearer_auth
from framecast.client.errors import ClientError, check
from framecast.client.follow import EventCursor, StreamProblem, finished, reconnect_delay_s, result_of
from framecast.client.sse import SSEDecoder


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
        cursor = EventCursor(after)
        failures = 0
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
            await asyncio.sleep(reconnect_delay_s(failures))

    async def wait(self, project_id: str) -> dict[str, Any]:
        """Follow the project to its end; returns the ``render_result`` object or raises ClientError."""
        async for _ in self.aiter_events(project_id):
            pass
        return result_of(await self.get_project(project_id))

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
