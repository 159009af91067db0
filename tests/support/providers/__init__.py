"""Local stand-ins for the hosted video APIs: real HTTP servers (``http.server`` on 127.0.0.1 in a thread, TLS
where the SDK only speaks HTTPS) that speak each provider's HTTP protocol as its public API reference
documents it, so the real SDK is driven through its own base-URL setting.

Every stand-in shares the bookkeeping here: the key it accepts (anything else gets 401), a scenario, the
jobs it made (``creations`` counts creates: a resumed task must not add one), the cancels it got, and a
job's life measured in polls, not in time (poll 1 queued, 2 and 3 running, then finished), so no test
depends on a clock.

Scenarios: ``succeed``; ``fail`` (the job fails); ``reject`` (the create is refused as a policy or validation
violation); ``reject_job`` (the job ends refused by the provider's safety check); ``rate_limited`` (the create
answers 429 with ``Retry-After: 17``); ``slow`` (the job runs forever); ``drop`` (the second poll's connection
is closed without an answer, once); ``drop_create`` (the first create makes its job, then its connection is
closed without an answer: the answer was lost, the job is paid for); ``down`` (every poll answers 500).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RETRY_AFTER_S = 17


@dataclass
class Job:
    id: str
    body: dict[str, Any]
    polls: int = 0
    cancelled: bool = False


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: object, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(data).encode(), "application/json", dict(headers or {}))


#: Answer nothing and close the connection (a connection dropped mid-poll).
DROP = Reply(-1)


class StandIn:
    """The shared server; a provider subclass implements ``route``."""

    def __init__(self, *, key: str, video: bytes, tls: ssl.SSLContext | None = None) -> None:
        self.key = key
        self.video = video
        self.scheme = "https" if tls else "http"
        self.lock = threading.Lock()
        self.reset()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with stand_in.lock:
                    stand_in.requests.append((self.command, self.path))
                    stand_in.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
                reply = stand_in.dispatch(self.command, self.path, dict(self.headers.items()), body)
                if reply is DROP:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def reset(self, scenario: str = "succeed") -> None:
        with self.lock:
            self.scenario = scenario
            self.jobs: dict[str, Job] = {}
            self.creations = 0
            self.cancels: list[str] = []
            self.deletes: list[str] = []
            self.requests: list[tuple[str, str]] = []
            self.headers_seen: list[dict[str, str]] = []
            self.dropped = 0
            self.polls = 0

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- shared behaviour ---------------------------------------------------------------------------

    def new_job(self, body: dict[str, Any], prefix: str) -> Job:
        with self.lock:
            self.creations += 1
            job = Job(id=f"{prefix}{uuid.uuid4().hex[:24]}", body=body)
            self.jobs[job.id] = job
            return job

    def phase(self, job: Job) -> str:
        """Where a job is after one more poll: queued, running (with percent), done, failed, refused."""
        if job.cancelled:
            return "cancelled"
        if self.scenario == "slow":
            return "running"
        if job.polls <= 1:
            return "queued"
        if job.polls <= 3:
            return "running"
        return {"fail": "failed", "reject_job": "refused"}.get(self.scenario, "done")

    @staticmethod
    def percent(job: Job) -> int:
        return {2: 30, 3: 70}.get(job.polls, 0 if job.polls <= 1 else 100)

    def poll(self, job: Job) -> Reply | None:
        """Count a poll; a DROP or a 500 when the scenario asks for one, else None (answer normally)."""
        with self.lock:
            self.polls += 1
            if self.scenario == "down":
                return Reply.json(500, {"error": "internal"})
            if self.scenario == "drop" and job.polls == 1 and self.dropped == 0:
                self.dropped += 1
                return DROP
            job.polls += 1
        return None

    def authorised(self, headers: Mapping[str, str], scheme: str) -> bool:
        wanted = f"{scheme} {self.key}"
        return any(k.lower() == "authorization" and v == wanted for k, v in headers.items())

    def dispatch(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        made = self.creations
        reply = self.route(method, path, headers, body)
        with self.lock:
            if self.scenario == "drop_create" and self.creations > made and self.dropped == 0:
                self.dropped += 1
                return DROP
        return reply

    def route(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        raise NotImplementedError
