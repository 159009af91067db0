"""Replicate as its HTTP API reference documents it: ``POST /v1/models/{owner}/{name}/predictions`` and
``POST /v1/predictions`` (with ``version``) answer 201 and a prediction; ``GET /v1/predictions/{id}`` (status
starting / processing / succeeded / failed / canceled, ``logs`` with the model's progress lines, ``output`` a
file URL); ``POST /v1/predictions/{id}/cancel``; errors are problem details (``title``, ``detail``,
``status``); auth is ``Bearer <token>``. The output file is served here too, under ``/files/``, without auth,
as Replicate's file URLs are."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tests.support.providers import RETRY_AFTER_S, Job, Reply, StandIn

_MODEL = re.compile(r"^/v1/models/([^/]+)/([^/]+)/predictions$")
_PREDICTION = re.compile(r"^/v1/predictions/([A-Za-z0-9]+)(/cancel)?$")
_FILE = re.compile(r"^/files/([A-Za-z0-9]+)\.mp4$")


def _problem(status: int, title: str, detail: str, headers: Mapping[str, str] | None = None) -> Reply:
    reply = Reply.json(status, {"title": title, "detail": detail, "status": status}, headers)
    reply.content_type = "application/problem+json"
    return reply


class ReplicateStandIn(StandIn):
    def _prediction(self, job: Job, phase: str) -> dict[str, Any]:
        status = {
            "queued": "starting",
            "running": "processing",
            "done": "succeeded",
            "cancelled": "canceled",
        }.get(phase, "failed")
        now = datetime.now(UTC).isoformat()
        logs = ""
        if job.polls >= 2:
            logs = "Loading pipeline...\n"
            for percent in (30, 70, 100)[: min(job.polls - 1, 3)]:
                step = percent // 10
                logs += f" {percent}%|{'#' * step}{' ' * (10 - step)}| {step}/10 [00:01<00:02]\n"
        error = None
        if phase == "failed":
            error = "CUDA out of memory while generating"
        if phase == "refused":
            error = "NSFW content detected. Try running it again, or try a different prompt."
        return {
            "id": job.id,
            "model": job.body.get("model", ""),
            "version": job.body.get("version", "hidden"),
            "input": job.body.get("input", {}),
            "logs": logs,
            "output": f"{self.url}/files/{job.id}.mp4" if status == "succeeded" else None,
            "data_removed": False,
            "error": error,
            "status": status,
            "created_at": now,
            "started_at": now if status != "starting" else None,
            "completed_at": now if status in ("succeeded", "failed", "canceled") else None,
            "metrics": {"predict_time": 1.5} if status == "succeeded" else {},
            "urls": {
                "get": f"{self.url}/v1/predictions/{job.id}",
                "cancel": f"{self.url}/v1/predictions/{job.id}/cancel",
                "web": f"https://replicate.com/p/{job.id}",
            },
        }

    def _create(self, body: dict[str, Any]) -> Reply:
        if self.scenario == "rate_limited":
            return _problem(
                429, "Too Many Requests", "Request was throttled.", {"Retry-After": str(RETRY_AFTER_S)}
            )
        if self.scenario == "reject":
            return _problem(
                422, "Input validation failed", "input.prompt: the prompt was flagged as sensitive"
            )
        job = self.new_job(body, "")
        return Reply.json(201, self._prediction(job, "queued"))

    def route(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        path = path.split("?")[0]
        file = _FILE.match(path)
        if method == "GET" and file:
            job = self.jobs.get(file.group(1))
            if job is None or self.phase(job) != "done":
                return Reply(404, b"not found", "text/plain")
            return Reply(200, self.video, "video/mp4")
        if not self.authorised(headers, "Bearer"):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        model = _MODEL.match(path)
        if method == "POST" and model:
            data = json.loads(body or b"{}")
            return self._create({"model": f"{model.group(1)}/{model.group(2)}", **data})
        if method == "POST" and path == "/v1/predictions":
            return self._create(json.loads(body or b"{}"))
        match = _PREDICTION.match(path)
        job = self.jobs.get(match.group(1)) if match else None
        if match is None or job is None:
            return _problem(404, "Not found", "The requested resource could not be found.")
        if method == "POST" and match.group(2):
            with self.lock:
                self.cancels.append(job.id)
                job.cancelled = True
            return Reply.json(200, self._prediction(job, "cancelled"))
        if method == "GET" and not match.group(2):
            early = self.poll(job)
            if early is not None:
                return early
            return Reply.json(200, self._prediction(job, self.phase(job)))
        return _problem(405, "Method not allowed", method)
