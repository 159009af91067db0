"""fal's queue API as its reference documents it, over HTTPS (fal-client speaks nothing else):
``POST /{owner}/{alias}[/{path}]`` enqueues (``request_id``, ``response_url``, ``status_url``, ``cancel_url``,
``queue_position``); ``GET /{owner}/{alias}/requests/{id}/status?logs=1`` answers ``IN_QUEUE`` (with
``queue_position``), ``IN_PROGRESS`` (with ``logs``) or ``COMPLETED`` (with ``metrics``, and ``error`` /
``error_type`` when the app failed); ``GET /{owner}/{alias}/requests/{id}`` the result
(``{"video": {"url": ...}}``); ``PUT .../requests/{id}/cancel`` answers 202 ``CANCELLATION_REQUESTED`` or 400
``ALREADY_COMPLETED``; errors are ``{"detail": ...}``; auth is ``Key <FAL_KEY>``. The result file is served
under ``/files/`` without auth, as fal's CDN URLs are."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support.providers import RETRY_AFTER_S, Job, Reply, StandIn

_REQUEST = re.compile(r"^/([^/]+)/([^/]+)/requests/([A-Za-z0-9-]+)(/status|/cancel)?$")
_SUBMIT = re.compile(r"^/([^/]+)/([^/]+)(/.*)?$")
_FILE = re.compile(r"^/files/([A-Za-z0-9-]+)\.mp4$")


def make_certificate(openssl: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the stand-in's name; clients trust it via SSL_CERT_FILE)."""
    cert, key = directory / "fal-cert.pem", directory / "fal-key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class FalStandIn(StandIn):
    def _base(self, owner: str, alias: str, job: Job) -> str:
        return f"{self.url}/{owner}/{alias}/requests/{job.id}"

    def _status(self, owner: str, alias: str, job: Job) -> Reply:
        early = self.poll(job)
        if early is not None:
            return early
        phase = self.phase(job)
        base = self._base(owner, alias, job)
        if phase == "queued":
            return Reply.json(200, {"status": "IN_QUEUE", "queue_position": 0, "response_url": base})
        logs = [
            {"message": f"step {p // 10}/10 {p}%", "level": "INFO", "source": "user", "timestamp": "t"}
            for p in (30, 70)[: max(0, min(job.polls - 1, 2))]
        ]
        if phase == "running":
            return Reply.json(200, {"status": "IN_PROGRESS", "logs": logs, "response_url": base})
        out: dict[str, Any] = {
            "status": "COMPLETED",
            "logs": logs,
            "metrics": {"inference_time": 1.5},
            "response_url": base,
        }
        if phase == "failed":
            out.update(error="The app crashed while generating.", error_type="runner_server_error")
        if phase == "refused":
            out.update(
                error="The content could not be processed because it contained material flagged by a "
                "content checker.",
                error_type="content_policy_violation",
            )
        if phase == "cancelled":
            out.update(error="Request cancelled.", error_type="request_cancelled")
        return Reply.json(200, out)

    def route(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        path = path.split("?")[0]
        file = _FILE.match(path)
        if method == "GET" and file:
            job = self.jobs.get(file.group(1))
            if job is None:
                return Reply(404, b"not found", "text/plain")
            return Reply(200, self.video, "video/mp4")
        if not self.authorised(headers, "Key"):
            return Reply.json(401, {"detail": "Unauthorized"})
        match = _REQUEST.match(path)
        if match:
            owner, alias, request_id, action = match.groups()
            job = self.jobs.get(request_id)
            if job is None:
                return Reply.json(404, {"detail": "Request not found"})
            if method == "GET" and action == "/status":
                return self._status(owner, alias, job)
            if method == "PUT" and action == "/cancel":
                with self.lock:
                    self.cancels.append(job.id)
                    if self.phase(job) in ("done", "failed", "refused"):
                        return Reply.json(400, {"status": "ALREADY_COMPLETED"})
                    job.cancelled = True
                return Reply.json(202, {"status": "CANCELLATION_REQUESTED"})
            if method == "GET" and action is None:
                if self.phase(job) != "done":
                    return Reply.json(400, {"detail": "Request is still in progress"})
                return Reply.json(
                    200,
                    {
                        "video": {
                            "url": f"{self.url}/files/{job.id}.mp4",
                            "content_type": "video/mp4",
                            "file_name": "output.mp4",
                            "file_size": len(self.video),
                        },
                        "seed": job.body.get("seed", 0),
                    },
                )
            return Reply.json(405, {"detail": "Method not allowed"})
        submit = _SUBMIT.match(path)
        if method == "POST" and submit:
            if self.scenario == "rate_limited":
                return Reply.json(429, {"detail": "Too many requests"}, {"Retry-After": str(RETRY_AFTER_S)})
            if self.scenario == "reject":
                return Reply.json(
                    422,
                    {
                        "detail": [
                            {
                                "loc": ["body", "prompt"],
                                "msg": "The prompt was flagged by the content checker.",
                                "type": "content_policy_violation",
                            }
                        ]
                    },
                    {"X-Fal-Error-Type": "content_policy_violation"},
                )
            owner, alias = submit.group(1), submit.group(2)
            job = self.new_job(json.loads(body or b"{}"), "")
            base = self._base(owner, alias, job)
            return Reply.json(
                200,
                {
                    "request_id": job.id,
                    "response_url": base,
                    "status_url": base + "/status",
                    "cancel_url": base + "/cancel",
                    "queue_position": 0,
                },
                {"x-fal-request-id": job.id},
            )
        return Reply.json(404, {"detail": "Not found"})


def load_fal_client(host: str | None) -> None:
    """Point fal-client at ``host``: it reads FAL_QUEUE_RUN_HOST once, when its modules are imported, so
    they are imported again after setting it (the engine looks fal_client's names up when it is built)."""
    import importlib
    import os

    if host is None:
        os.environ.pop("FAL_QUEUE_RUN_HOST", None)
    else:
        os.environ["FAL_QUEUE_RUN_HOST"] = host
    import fal_client
    import fal_client.auth
    import fal_client.client

    importlib.reload(fal_client.auth)
    importlib.reload(fal_client.client)
    importlib.reload(fal_client)
