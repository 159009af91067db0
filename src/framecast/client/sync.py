"""The synchronous client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from framecast.client.sse import parse


class ClientError(Exception):
    """Raised when the server answers with an error; carries the server's ``code`` and ``message``.

    A 503 ``service_unavailable`` (the server's database, broker or storage is down) also carries the
    ``cause`` (``database_down``...) and ``retry_after`` (seconds, from the ``Retry-After`` header).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        cause: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.cause = cause
        self.retry_after = retry_after

    @property
    def unavailable(self) -> bool:
        """True for an outage on the server's side, which ends by itself: try again after ``retry_after``."""
        return self.status == 503


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isascii() and value.isdigit() else None


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        cause = None
        try:
            body = response.json()
            code, message = body.get("code", "error"), body.get("message", response.text)
            cause = body.get("cause")
        except ValueError:
            code, message = "error", response.text
        raise ClientError(
            response.status_code, code, message, cause=cause, retry_after=_retry_after(response)
        )
    return response


#: Stream messages that end a stream early: the server's ``problem`` (``error`` from servers before it).
PROBLEM_EVENTS = ("problem", "error")


def _should_skip(event: str, data: str) -> bool:
    """Stream-only messages (hello, ping, resync, retry) carry no seq; the SDK yields log events only."""
    return event in ("hello", "ping", "retry", "resync", "message") or not data


def backoff_s(failures: int, retry_after: float | None = None) -> float:
    """Doubling from 0.4 s, capped at 5 s; never shorter than the server's Retry-After."""
    return float(max(min(5.0, 0.2 * 2**failures), retry_after or 0.0))


class Client:
    """Talks to a Framecast server. ``events()`` follows a project over SSE and resumes after a dropped
    connection from the last seq, so no event is missed or repeated."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def create_project(self, *, idempotency_key: str | None = None, **body: Any) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data: dict[str, Any] = _check(self._http.post("/api/projects", json=body, headers=headers)).json()
        return data

    def get_project(self, project_id: str) -> dict[str, Any]:
        data: dict[str, Any] = _check(self._http.get(f"/api/projects/{project_id}")).json()
        return data

    def cancel(self, project_id: str) -> dict[str, Any]:
        data: dict[str, Any] = _check(self._http.post(f"/api/projects/{project_id}/cancel")).json()
        return data

    def retry(self, project_id: str) -> dict[str, Any]:
        data: dict[str, Any] = _check(self._http.post(f"/api/projects/{project_id}/retry")).json()
        return data

    def poll(self, project_id: str, after: int = 0) -> dict[str, Any]:
        data: dict[str, Any] = _check(
            self._http.get(f"/api/projects/{project_id}/events", params={"after": after})
        ).json()
        return data

    def events(
        self, project_id: str, after: int = 0, *, max_reconnects: int = 20
    ) -> Iterator[dict[str, Any]]:
        """Persisted events of the project (envelopes), until its terminal ``project_status``."""
        cursor = after
        failures = 0
        while True:
            try:
                with self._http.stream(
                    "GET",
                    f"/api/projects/{project_id}/events",
                    params={"after": cursor},
                    headers={"Accept": "text/event-stream"},
                    timeout=httpx.Timeout(10.0, read=60.0),
                ) as response:
                    _check(response) if response.status_code >= 400 and response.read() is not None else None
                    ended = False
                    for message in parse(response.iter_lines()):
                        if _should_skip(message.event, message.data):
                            continue
                        envelope = json.loads(message.data)
                        if message.event in PROBLEM_EVENTS:
                            break
                        seq = envelope.get("seq")
                        if seq is None or seq <= cursor:
                            continue
                        cursor = seq
                        failures = 0
                        yield envelope
                        if envelope["type"] == "project_status" and envelope["data"].get("terminal"):
                            ended = True
                    if ended or self._terminal(project_id, cursor):
                        return
                # The stream ended early (a proxy timeout, a server restart, a problem event): back off, resume.
                failures += 1
                if failures > max_reconnects:
                    raise ClientError(503, "stream_unavailable", "The event stream kept ending early.")
                time.sleep(backoff_s(failures))
            except (httpx.TransportError, httpx.RemoteProtocolError):
                failures += 1
                if failures > max_reconnects:
                    raise
                time.sleep(backoff_s(failures))
            except ClientError as exc:
                if not exc.unavailable:
                    raise
                failures += 1  # the server's database (or broker, storage) is down: resume once it is back
                if failures > max_reconnects:
                    raise
                time.sleep(backoff_s(failures, exc.retry_after))

    def _terminal(self, project_id: str, cursor: int) -> bool:
        snapshot = self.get_project(project_id)
        return bool(snapshot["terminal"]) and cursor >= int(snapshot["last_seq"])

    def wait(self, project_id: str) -> dict[str, Any]:
        """Follow the project to its end; returns the ``render_result`` object or raises ClientError."""
        for _ in self.events(project_id):
            pass
        snapshot = self.get_project(project_id)
        if snapshot["status"] != "completed":
            error = snapshot.get("error") or {}
            raise ClientError(
                200, error.get("code", snapshot["status"]), error.get("message", snapshot["status"])
            )
        result: dict[str, Any] = snapshot["result"]
        return result

    def download(self, url: str, path: str | Path) -> Path:
        target = Path(path)
        tmp = target.with_name(f".{target.name}.part")
        with self._http.stream("GET", url) as response:
            if response.status_code >= 400:
                response.read()
                _check(response)
            with tmp.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        tmp.replace(target)
        return target
