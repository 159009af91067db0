"""OpenAI Videos as its API reference documents it: ``POST /v1/videos`` (multipart: prompt, model, seconds,
size), ``GET /v1/videos/{id}`` (a Video object: status queued / in_progress / completed / failed, progress
0..100, error {code, message}), ``GET /v1/videos/{id}/content`` (the MP4), ``DELETE /v1/videos/{id}``
(``video.deleted``); errors are ``{"error": {message, type, param, code}}``; auth is ``Bearer <key>``."""

from __future__ import annotations

import email
import re
import time
from collections.abc import Mapping
from typing import Any

from tests.support.providers import RETRY_AFTER_S, Job, Reply, StandIn

_VIDEO = re.compile(r"^/v1/videos/([A-Za-z0-9_]+)(/content)?$")


def _error(status: int, message: str, code: str, kind: str = "invalid_request_error") -> Reply:
    return Reply.json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})


def _form(headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    content_type = next(v for k, v in headers.items() if k.lower() == "content-type")
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, str] = {}
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = payload.decode() if isinstance(payload, bytes) else ""
    return fields


class OpenAIStandIn(StandIn):
    def _video(self, job: Job, phase: str) -> dict[str, Any]:
        status = {"queued": "queued", "running": "in_progress", "done": "completed"}.get(phase, "failed")
        out: dict[str, Any] = {
            "id": job.id,
            "object": "video",
            "model": job.body.get("model", "sora-2"),
            "status": status,
            "progress": self.percent(job) if status != "failed" else 0,
            "created_at": int(time.time()),
            "completed_at": int(time.time()) if status in ("completed", "failed") else None,
            "expires_at": None,
            "prompt": job.body.get("prompt"),
            "seconds": job.body.get("seconds", "4"),
            "size": job.body.get("size", "720x1280"),
            "remixed_from_video_id": None,
            "error": None,
        }
        if phase == "failed":
            out["error"] = {"code": "internal_error", "message": "Video generation failed."}
        if phase == "refused":
            out["error"] = {
                "code": "moderation_blocked",
                "message": "Your request was blocked by our moderation system.",
            }
        return out

    def route(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        if not self.authorised(headers, "Bearer"):
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        path = path.split("?")[0]
        if method == "POST" and path == "/v1/videos":
            if self.scenario == "rate_limited":
                return Reply.json(
                    429,
                    {"error": {"message": "Rate limit reached.", "type": "requests", "code": "rate_limit"}},
                    {"retry-after": str(RETRY_AFTER_S)},
                )
            form = _form(headers, body)
            if self.scenario == "reject":
                return _error(400, "Your request was blocked by our moderation system.", "moderation_blocked")
            job = self.new_job(form, "video_")
            return Reply.json(200, self._video(job, "queued"))
        match = _VIDEO.match(path)
        job = self.jobs.get(match.group(1)) if match else None
        if match is None or job is None:
            return _error(404, "No video found.", "not_found")
        if method == "GET" and match.group(2):
            if self.phase(job) != "done":
                return _error(400, "Video is not ready.", "video_not_ready")
            return Reply(200, self.video, "video/mp4")
        if method == "GET":
            early = self.poll(job)
            if early is not None:
                return early
            return Reply.json(200, self._video(job, self.phase(job)))
        if method == "DELETE":
            with self.lock:
                self.deletes.append(job.id)
                job.cancelled = True
            return Reply.json(200, {"id": job.id, "object": "video.deleted", "deleted": True})
        return _error(405, "Method not allowed.", "method_not_allowed")
