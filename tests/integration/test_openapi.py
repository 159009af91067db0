"""/openapi.json is the contract a generated client can use: every live response of a project's whole life
is declared (status and media type) for its operation and validates against the schema the document names
for it (the pydantic models of ``web.schemas``, which forbid keys they do not name); and a client generated
from the live document by openapi-python-client creates a project, waits for it and downloads the MP4."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
import websockets
from pydantic import BaseModel

from framecast.web import schemas
from tests.support.server import Server, read_sse, run_async, wait_terminal

PROMPT = "A paper boat drifting on a calm lake at dawn"


class Checked:
    """Looks each response up in the live document and validates its body against the named schema."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.seen: set[tuple[str, str, int]] = set()
        self._templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in document["paths"]
        ]

    def operation(self, method: str, url_path: str) -> tuple[str, dict[str, Any]]:
        matches = [path for pattern, path in self._templates if pattern.match(url_path)]
        assert matches, f"{url_path} is not in /openapi.json"
        path = min(matches, key=lambda p: p.count("{"))  # a literal segment beats a parameter
        operations = self.document["paths"][path]
        assert method.lower() in operations, f"{method} {path} is not in /openapi.json"
        return path, operations[method.lower()]

    def __call__(self, response: httpx.Response, body: Any = None) -> Any:
        method, url_path = response.request.method, response.request.url.path
        path, operation = self.operation(method, url_path)
        status = response.status_code
        declared = operation["responses"]
        assert str(status) in declared, f"{method} {path} answered {status}, not declared: {sorted(declared)}"
        self.seen.add((method, path, status))
        content = declared[str(status)].get("content")
        if content is None:  # 204, 304: no body
            assert not response.content, response.content[:200]
            return None
        media_type = response.headers["content-type"].split(";")[0].strip()
        assert media_type in content, f"{method} {path} {status}: {media_type} not in {sorted(content)}"
        if media_type not in ("application/json", "application/problem+json"):
            return response.content
        value = response.json() if body is None else body
        schema = content[media_type]["schema"]
        if path == "/api/schema/timeline":  # a JSON Schema document: any object
            assert schema == {"type": "object", "additionalProperties": True, "title": schema["title"]}
            assert isinstance(value, dict) and "properties" in value
            return value
        self.model(schema).model_validate(value)
        return value

    def model(self, schema: dict[str, Any]) -> type[BaseModel]:
        ref = schema.get("$ref")
        assert ref, f"an untyped body: {schema}"
        model: type[BaseModel] = getattr(schemas, ref.rsplit("/", 1)[-1])
        return model

    def envelope(self, data: Any) -> None:
        sse = self.document["paths"]["/api/projects/{project_id}/events"]["get"]["responses"]["200"]
        item = sse["content"]["text/event-stream"]["itemSchema"]["properties"]["data"]["contentSchema"]
        self.model(item).model_validate(data)


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def test_every_route_declares_a_typed_body_and_its_problems(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(document)  # 422s are Problems, as web.errors sends them
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "421" in responses, (method, path)
            for status, response in responses.items():
                for media_type, media in response.get("content", {}).items():
                    schema = media.get("schema", {})
                    if status[0] in "45" and not (path == "/readyz" and status == "503"):
                        assert media_type == "application/problem+json", (method, path, status)
                        assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path, status)
                    elif media_type == "application/json" and path != "/api/schema/timeline":
                        assert "$ref" in schema, (method, path, status, schema)
            if "parameters" in operation or "requestBody" in operation:
                assert "422" in responses, (method, path)
            if method != "get" and path != "/api/session":
                assert {"401", "403"} <= set(responses), (method, path)


def test_a_projects_whole_life_validates_against_the_document(
    server: Server, client: httpx.Client, document: dict[str, Any]
) -> None:
    check = Checked(document)
    body = {"prompt": PROMPT, "duration_s": 1, "resolution": "360p", "fps": 24}
    created = client.post("/api/projects", json=body, headers={"Idempotency-Key": "openapi-life"})
    assert created.status_code == 201
    project = check(created)
    pid = project["id"]
    assert check(client.post("/api/projects", json=body, headers={"Idempotency-Key": "openapi-life"}))
    check(client.get(f"/api/projects/{pid}"))
    check(client.get(f"/api/projects/{pid}/events", params={"after": 0}))
    # the SSE stream to its end: every message's data is an EventEnvelope
    _, messages = read_sse(client, pid, after=0)
    envelopes = [data for event, _, data in messages if event != "retry"]
    assert envelopes[0]["type"] == "hello" and envelopes[-1]["type"] == "project_status"
    for data in envelopes:
        check.envelope(data)
    sse_done = client.get(
        f"/api/projects/{pid}/events", headers={"Accept": "text/event-stream", "Last-Event-ID": "999999"}
    )
    check(sse_done)
    snapshot = wait_terminal(client, pid)
    assert snapshot["status"] == "completed", snapshot
    completed = client.get(f"/api/projects/{pid}")
    done = check(completed)
    assert done["result"] and done["assets"] and done["tasks"] and done["timeline"]
    check(client.get(f"/api/projects/{pid}", headers={"If-None-Match": completed.headers["etag"]}))
    events = check(client.get(f"/api/projects/{pid}/events", params={"after": 0}))
    assert {e["type"] for e in events["events"]} >= {"task_status", "file", "render_result", "project_status"}
    video = done["result"]["url"]
    whole = client.get(video)
    assert check(whole)[4:8] == b"ftyp"
    check(client.get(video, headers={"Range": "bytes=0-99"}))
    check(client.get(video, headers={"Range": "bytes=999999999-"}))
    check(client.get(video, headers={"If-None-Match": whole.headers["etag"]}))
    # the WebSocket, which OpenAPI cannot describe, sends the same EventEnvelopes (a problem one too)
    for frame in _websocket_frames(server, pid, "0") + _websocket_frames(server, pid, "x"):
        check.envelope(frame)
    check(client.post(f"/api/projects/{pid}/delivered", json={"seq": done["last_seq"]}))
    check(client.post(f"/api/projects/{pid}/tokens", json={"ttl_s": 60}))
    check(client.get(f"/api/projects/{pid}/deliveries"))
    gallery = check(client.get("/api/videos", params={"limit": 5}))
    assert any(item["project_id"] == pid for item in gallery["items"])
    # the other endings and the errors
    check(client.post(f"/api/projects/{pid}/cancel"))  # 409 already_completed
    check(client.post(f"/api/projects/{pid}/retry"))  # 409 not_retryable
    check(client.post("/api/projects", json={"prompt": PROMPT, "resolution": "8k"}))  # 422
    check(client.post("/api/projects", json=body, headers={"Idempotency-Key": "openapi-life", "X": "1"}))
    check(client.post("/api/projects", json={**body, "fps": 30}, headers={"Idempotency-Key": "openapi-life"}))
    check(client.get(f"/api/projects/{pid}/events", params={"after": "x"}))  # 422
    check(client.get("/api/videos", params={"cursor": "nope"}))  # 422
    check(client.post("/api/webhooks", json={"url": "http://127.0.0.1:9/hook"}))  # 422 not allowed
    check(client.get("/api/webhooks"))
    check(client.get("/api/projects/prj_missing"))  # 404
    check(client.get("/media/ast_missing/video.mp4"))  # 404
    check(client.get("/healthz", headers={"Host": "evil.example"}))  # 421
    stopped = check(client.post("/api/projects", json={**body, "duration_s": 30}))
    check(client.post(f"/api/projects/{stopped['id']}/cancel"))
    check(client.post(f"/api/projects/{stopped['id']}/retry"))
    check(client.post(f"/api/projects/{stopped['id']}/cancel"))
    check(client.delete(f"/api/projects/{stopped['id']}"))
    check(client.get(f"/api/projects/{stopped['id']}"))  # 404 once deleted
    for path in ("/healthz", "/readyz", "/api/session", "/api/schema/timeline", "/metrics"):
        check(client.get(path))
    statuses = {status for _, _, status in check.seen}
    assert statuses >= {200, 201, 204, 206, 304, 404, 409, 416, 421, 422}, sorted(statuses)


def _websocket_frames(server: Server, project_id: str, after: str) -> list[Any]:
    async def run() -> list[Any]:
        frames = []
        uri = server.url.replace("http", "ws") + f"/api/projects/{project_id}/ws?after={after}"
        async with websockets.connect(uri) as ws:
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    frames.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        return frames

    frames: list[Any] = run_async(run)
    assert frames and frames[-1]["type"] in ("project_status", "problem"), frames
    return frames


# -- a generated client ---------------------------------------------------------------------------------

#: openapi-python-client's config: no post-hooks (they run ruff, which a test need not depend on), enums as
#: Literal strings, and the video's media type read as bytes.
GENERATOR_CONFIG = """\
project_name_override: framecast-api-client
package_name_override: framecast_api_client
post_hooks: []
literal_enums: true
content_type_overrides:
  video/mp4: application/octet-stream
"""


@pytest.fixture
def generated(tmp_path: Path, server: Server) -> Iterator[Any]:
    """The package openapi-python-client generates from the live /openapi.json, imported from tmp_path."""
    spec = tmp_path / "openapi.json"
    spec.write_bytes(httpx.get(f"{server.url}/openapi.json", timeout=30).content)
    config = tmp_path / "config.yaml"
    config.write_text(GENERATOR_CONFIG)
    out = tmp_path / "client"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(out / "framecast_api_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("framecast_api_client")
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n.split(".")[0] == "framecast_api_client"]:
            del sys.modules[name]


def test_a_generated_client_creates_waits_and_downloads(
    generated: Any, server: Server, tmp_path: Path
) -> None:
    from framecast_api_client import Client  # type: ignore[import-not-found]
    from framecast_api_client.api.events import project_events  # type: ignore[import-not-found]
    from framecast_api_client.api.media import media  # type: ignore[import-not-found]
    from framecast_api_client.api.projects import (  # type: ignore[import-not-found]
        create_project,
        get_project,
    )
    from framecast_api_client.models import (  # type: ignore[import-not-found]
        EventList,
        FileEvent,
        ProjectPublic,
        ProjectRequest,
        ProjectStatusEvent,
        RenderResultEvent,
        ResultPublic,
        TaskPublic,
        TaskStatusEvent,
    )

    client = Client(base_url=server.url, raise_on_unexpected_status=True, timeout=httpx.Timeout(30))
    request = ProjectRequest(prompt=PROMPT, duration_s=1, resolution="360p", fps=24)
    project = create_project.sync(client=client, body=request)
    assert isinstance(project, ProjectPublic), project  # a class of the document, not a dict or Any
    assert project.status in ("queued", "running") and project.options.resolution == "360p"

    def current() -> Any:
        snapshot = get_project.sync(project.id, client=client)
        assert isinstance(snapshot, ProjectPublic), snapshot
        return snapshot if snapshot.terminal else None

    from tests.support.server import wait_for

    done = wait_for(current, timeout_s=120, interval_s=0.2)
    assert done.status == "completed", done.to_dict()
    assert isinstance(done.result, ResultPublic) and all(isinstance(t, TaskPublic) for t in done.tasks)
    # the log, polled: each event is the class of its type, its data typed too
    page = project_events.sync(project.id, client=client, after="0")
    assert isinstance(page, EventList) and page.terminal
    kinds = {type(event) for event in page.events}
    assert {TaskStatusEvent, FileEvent, RenderResultEvent, ProjectStatusEvent} <= kinds, kinds
    last = page.events[-1]
    assert (
        isinstance(last, ProjectStatusEvent) and last.data.status == "completed" and last.seq == page.last_seq
    )
    result_event = next(e for e in page.events if isinstance(e, RenderResultEvent))
    assert isinstance(result_event.data.object_, ResultPublic)
    assert result_event.data.object_.url == done.result.url
    asset_id, filename = done.result.url.removeprefix("/media/").split("/")
    downloaded = media.sync_detailed(asset_id, filename, client=client)
    assert downloaded.status_code == 200
    data = downloaded.parsed.payload.read()
    assert data[4:8] == b"ftyp"
    path = tmp_path / "video.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:  # decoded, every frame, at the size the project reports
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert frames and frames[0].shape == (done.result.height, done.result.width, 3) == (360, 640, 3)
    assert len(frames) == 24
