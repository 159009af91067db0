"""Property tests: whatever JSON a client sends, the API answers with a client error or success, never a 5xx."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_support import TestClient

from framecast.app_context import build_runtime
from framecast.settings import Settings
from framecast.web.app import create_app

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
KNOWN_FIELDS = {
    "prompt": st.text(max_size=50) | JSON_VALUES,
    "timeline": st.dictionaries(st.sampled_from(["canvas", "scenes", "audio", "x"]), JSON_VALUES, max_size=3)
    | JSON_VALUES,
    "duration_s": st.floats() | st.integers() | JSON_VALUES,
    "aspect": st.sampled_from(["16:9", "9:16", "1:1", "4:3", ""]) | JSON_VALUES,
    "resolution": st.sampled_from(["360p", "480p", "720p", "1080p", "8k"]) | JSON_VALUES,
    "fps": st.sampled_from([24, 25, 30, 60, 7, 0, -1]) | JSON_VALUES,
    "seed": st.integers() | JSON_VALUES,
    "style": st.sampled_from(["cinematic", "minimal", "neon", "retro", "documentary", "x"]) | JSON_VALUES,
    "voiceover": st.booleans() | JSON_VALUES,
}
BODIES = st.fixed_dictionaries({}, optional=KNOWN_FIELDS) | st.dictionaries(
    st.text(max_size=12), JSON_VALUES, max_size=6
)

# One app for every example: building one per example would make the test slow, and projects created
# by earlier examples do not change how later bodies are validated.
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir: Path = tmp_path_factory.mktemp("property")
    runtime = build_runtime(Settings(data_dir=data_dir, workers=0, allowed_hosts=["testserver"]))
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client
    runtime.close()


def _post_json(client: TestClient, body: Any) -> Any:
    # Serialised here, not by httpx: Python's json (which the server uses) also reads NaN and Infinity.
    content = json.dumps(body, allow_nan=True).encode()
    return client.post("/api/projects", content=content, headers={"Content-Type": "application/json"})


def _assert_not_5xx(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert body["code"] and body["message"], body


@PROPERTY_SETTINGS
@given(body=BODIES)
def test_create_never_5xx(shared_client: TestClient, body: dict[str, Any]) -> None:
    _assert_not_5xx(_post_json(shared_client, body))


@PROPERTY_SETTINGS
@given(body=JSON_VALUES)
def test_create_with_any_json_value_never_5xx(shared_client: TestClient, body: Any) -> None:
    _assert_not_5xx(_post_json(shared_client, body))


@settings(max_examples=60, deadline=None)
@given(raw=st.binary(max_size=200))
def test_create_with_any_bytes_never_5xx(shared_client: TestClient, raw: bytes) -> None:
    response = shared_client.post("/api/projects", content=raw, headers={"Content-Type": "application/json"})
    _assert_not_5xx(response)


@settings(max_examples=60, deadline=None)
@given(value=JSON_VALUES | st.text(max_size=40))
def test_gallery_cursor_never_5xx(shared_client: TestClient, value: Any) -> None:
    raw = value if isinstance(value, str) else json.dumps(value, allow_nan=True)
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    _assert_not_5xx(shared_client.get("/api/videos", params={"cursor": cursor}))


@settings(max_examples=60, deadline=None)
@given(after=st.text(max_size=12), last_event_id=st.text(alphabet=st.characters(codec="ascii"), max_size=12))
def test_polling_cursor_never_5xx(shared_client: TestClient, after: str, last_event_id: str) -> None:
    headers = {"Last-Event-ID": last_event_id.strip()} if last_event_id.strip().isprintable() else {}
    response = shared_client.get("/api/projects/prj_nope/events", params={"after": after}, headers=headers)
    _assert_not_5xx(response)
