"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from framecast.client.auth import bearer_auth
from framecast.client.errors import ClientError, check
from framecast.client.follow import EventCursor, StreamProblem, finished, reconnect_delay_s, result_of
from framecast.client.sse import parse

__all__ = ["Client", "ClientError"]


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
        cursor = EventCursor(after)
        failures = 0
        while True:
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
                    for message in parse(response.iter_lines()):
                        envelope = cursor.take(message)
                        if envelope is not None:
                            failures = 0
                            yield envelope
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
                time.sleep(max(reconnect_delay_s(failures), exc.retry_after or 0.0))
                continue
            time.sleep(reconnect_delay_s(failures))

    def wait(self, project_id: str) -> dict[str, Any]:
        """Follow the project to its end; returns the ``render_result`` object or raises ClientError."""
        for _ in self.events(project_id):
            pass
        return result_of(self.get_project(project_id))

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
