"""Helpers shared by the web tests (imported as a plain module: tests/ has no packages)."""

from __future__ import annotations

import io
import warnings
import wave
from collections.abc import Callable
from typing import Any

from starlette.exceptions import StarletteDeprecationWarning
from tests.support.images import png_bytes

# starlette 1.x prefers httpx2 for its TestClient and warns (an error under our filterwarnings) with httpx;
# the client works the same, so the warning is silenced here, once, where the module is first imported.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


ClientFactory = Callable[..., TestClient]

__all__ = ["ClientFactory", "TestClient", "assert_problem", "create_project", "png_bytes", "wav_bytes"]


def create_project(client: TestClient, **body: Any) -> dict[str, Any]:
    body.setdefault("prompt", "A lighthouse at dusk")
    response = client.post("/api/projects", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def wav_bytes(frames: int = 800) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x01" * frames)
    return buffer.getvalue()


def assert_problem(
    response: Any, status: int, code: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """An error answer: the status, JSON with a stable code and a human message (and the field if given)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0] in ("application/json", "application/problem+json")
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("code"), str) and body["code"], body
    assert isinstance(body.get("message"), str) and len(body["message"]) > 5, body
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
        assert field.split(".")[0] in body["message"], body
    return body
