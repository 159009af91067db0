"""POST /api/projects: bad input is a 4xx with a stable code, a sentence naming the field; idempotency."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from web_support import TestClient, assert_problem, create_project

PROMPT = "A paper boat drifting down a rainy street"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"prompt": ""}, "prompt", id="empty-prompt"),
        pytest.param({"prompt": "x" * 5000}, "prompt", id="prompt-5000-chars"),
        pytest.param({"prompt": PROMPT, "duration_s": 0}, "duration_s", id="duration-0"),
        pytest.param({"prompt": PROMPT, "duration_s": 100000}, "duration_s", id="duration-100000"),
        pytest.param({"prompt": PROMPT, "duration_s": "abc"}, "duration_s", id="duration-not-a-number"),
        pytest.param({"prompt": PROMPT, "resolution": "8k"}, "resolution", id="resolution-8k"),
        pytest.param({"prompt": PROMPT, "fps": 7}, "fps", id="fps-7"),
        pytest.param({"prompt": PROMPT, "aspect": "4:3"}, "aspect", id="aspect-4:3"),
        pytest.param({"prompt": PROMPT, "seed": -1}, "seed", id="seed-negative"),
        pytest.param({"prompt": PROMPT, "seed": 2**60}, "seed", id="seed-too-big"),
        pytest.param({"prompt": PROMPT, "seed": "abc"}, "seed", id="seed-not-int"),
        pytest.param({"prompt": PROMPT, "voiceover": "perhaps"}, "voiceover", id="voiceover-not-bool"),
        pytest.param({"prompt": PROMPT, "style": "baroque"}, "style", id="style-unknown"),
        pytest.param({"prompt": 42}, "prompt", id="prompt-not-a-string"),
        pytest.param(
            {"timeline": "not an object"},
            "timeline",
            id="timeline-not-an-object",
        ),
        pytest.param({"prompt": PROMPT, "colour": "red"}, "colour", id="unknown-field"),
    ],
)
def test_bad_field_is_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/projects", json=body)
    problem = assert_problem(response, 422, "invalid_input", field=field)
    assert problem["errors"] and problem["errors"][0]["field"] == field


def test_unknown_field_message_says_unknown(client: TestClient) -> None:
    problem = assert_problem(
        client.post("/api/projects", json={"prompt": PROMPT, "colour": "red"}), 422, "invalid_input"
    )
    assert "Unknown field 'colour'" in problem["message"]


def test_literal_message_lists_allowed_values(client: TestClient) -> None:
    problem = assert_problem(client.post("/api/projects", json={"prompt": PROMPT, "fps": 7}), 422)
    for allowed in ("24", "25", "30", "60"):
        assert allowed in problem["message"]


def test_whitespace_prompt_names_the_prompt_field(client: TestClient) -> None:
    response = client.post("/api/projects", json={"prompt": "   \n\t "})
    assert_problem(response, 422, "invalid_input", field="prompt")


def test_whitespace_prompt_is_422(client: TestClient) -> None:
    problem = assert_problem(client.post("/api/projects", json={"prompt": "   \n\t "}), 422, "invalid_input")
    assert "prompt" in problem["message"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"prompt": PROMPT, "timeline": {"scenes": []}}, id="both"),
        pytest.param({}, id="neither"),
        pytest.param({"duration_s": 3}, id="neither-with-options"),
    ],
)
def test_exactly_one_of_prompt_or_timeline(client: TestClient, body: dict[str, Any]) -> None:
    problem = assert_problem(client.post("/api/projects", json=body), 422, "invalid_input")
    assert "prompt" in problem["message"] and "timeline" in problem["message"]


def test_invalid_timeline_content_is_422_not_500(client: TestClient) -> None:
    response = client.post("/api/projects", json={"timeline": {"scenes": "lots", "canvas": 3}})
    problem = assert_problem(response, 422, "invalid_input")
    assert "timeline" in problem["message"].lower() or problem.get("field")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b"prompt=hello", "application/json", id="not-json"),
        pytest.param(b'{"prompt": "unterminated', "application/json", id="truncated-json"),
        pytest.param(b"\xff\xfe\x00garbage", "application/json", id="binary"),
        pytest.param(b"", "application/json", id="empty-body"),
        pytest.param(b'["prompt", "hello"]', "application/json", id="json-array"),
        pytest.param(b'"just a string"', "application/json", id="json-string"),
        pytest.param(b"null", "application/json", id="json-null"),
        pytest.param(b"42", "application/json", id="json-number"),
        pytest.param(b'{"prompt": "hi"}', "text/plain", id="text-plain"),
        pytest.param(b'{"prompt": "hi", "duration_s": NaN}', "application/json", id="nan"),
        pytest.param(b'{"prompt": "hi", "duration_s": Infinity}', "application/json", id="infinity"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", id="deeply-nested"),
    ],
)
def test_body_that_is_not_a_json_object_is_4xx(client: TestClient, content: bytes, content_type: str) -> None:
    response = client.post("/api/projects", content=content, headers={"Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.text
    assert_problem(response, response.status_code)


def test_json_array_body_says_it_must_be_an_object(client: TestClient) -> None:
    response = client.post(
        "/api/projects", content=b'["prompt"]', headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422, "invalid_input")
    assert "JSON object" in problem["message"]


def test_not_json_says_so(client: TestClient) -> None:
    response = client.post(
        "/api/projects", content=b"prompt=hi", headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422, "invalid_input")
    assert "JSON" in problem["message"]


def _big_body() -> bytes:
    return json.dumps({"prompt": PROMPT, "style": "neon", "padding": "x" * 1_100_000}).encode()


def test_body_over_1mb_with_content_length_is_413(client: TestClient) -> None:
    response = client.post("/api/projects", content=_big_body(), headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 413, "payload_too_large")
    assert "MB" in problem["message"]


def test_declared_length_over_the_limit_is_refused_before_reading(client: TestClient) -> None:
    response = client.post(
        "/api/projects",
        content=b'{"prompt": "x"}',
        headers={"Content-Type": "application/json", "Content-Length": "5000000"},
    )
    assert_problem(response, 413, "payload_too_large")


def test_chunked_body_over_1mb_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        body = _big_body()
        for start in range(0, len(body), 64_000):
            yield body[start : start + 64_000]

    response = client.post("/api/projects", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_problem(response, 413, "payload_too_large")


def test_chunked_body_over_1mb_is_4xx_not_500(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        body = _big_body()
        for start in range(0, len(body), 64_000):
            yield body[start : start + 64_000]

    response = client.post("/api/projects", content=chunks(), headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


def test_chunked_small_body_is_accepted(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"prompt": '
        yield json.dumps(PROMPT).encode() + b"}"

    response = client.post("/api/projects", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


def test_valid_create_is_201_with_snapshot_and_defaults(client: TestClient) -> None:
    response = client.post("/api/projects", json={"prompt": PROMPT})
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/projects/{body['id']}"
    assert body["status"] == "queued" and body["terminal"] is False
    assert body["prompt"] == PROMPT
    assert body["options"]["duration_s"] == 8
    assert body["options"]["resolution"] == "720p"
    assert body["options"]["fps"] == 30


def test_prompt_of_exactly_2000_chars_is_accepted(client: TestClient) -> None:
    create_project(client, prompt="y" * 2000)


# -- Idempotency-Key ----------------------------------------------------------------------------------


def test_same_key_same_body_returns_the_same_project(client: TestClient) -> None:
    headers = {"Idempotency-Key": "key-1"}
    body = {"prompt": PROMPT, "duration_s": 3}
    first = client.post("/api/projects", json=body, headers=headers)
    second = client.post("/api/projects", json=body, headers=headers)
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]


def test_same_key_equivalent_body_in_another_key_order_is_the_same_request(client: TestClient) -> None:
    headers = {"Idempotency-Key": "key-order", "Content-Type": "application/json"}
    first = client.post("/api/projects", content=b'{"prompt": "a", "fps": 25}', headers=headers)
    second = client.post("/api/projects", content=b'{"fps": 25, "prompt": "a"}', headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_same_key_different_body_is_409(client: TestClient) -> None:
    headers = {"Idempotency-Key": "key-2"}
    first = client.post("/api/projects", json={"prompt": PROMPT}, headers=headers)
    assert first.status_code == 201
    response = client.post("/api/projects", json={"prompt": PROMPT + "!"}, headers=headers)
    problem = assert_problem(response, 409, "idempotency_key_reused")
    assert "Idempotency-Key" in problem["message"]


def test_no_key_makes_two_projects(client: TestClient) -> None:
    first = create_project(client, prompt=PROMPT)
    second = create_project(client, prompt=PROMPT)
    assert first["id"] != second["id"]


def test_different_keys_make_two_projects(client: TestClient) -> None:
    first = client.post("/api/projects", json={"prompt": PROMPT}, headers={"Idempotency-Key": "a"})
    second = client.post("/api/projects", json={"prompt": PROMPT}, headers={"Idempotency-Key": "b"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_idempotency_key_too_long_is_422(client: TestClient) -> None:
    response = client.post("/api/projects", json={"prompt": PROMPT}, headers={"Idempotency-Key": "k" * 201})
    assert_problem(response, 422, "invalid_input", field="Idempotency-Key")


def test_bad_input_with_a_key_does_not_burn_the_key(client: TestClient) -> None:
    headers = {"Idempotency-Key": "key-3"}
    bad = client.post("/api/projects", json={"prompt": ""}, headers=headers)
    assert bad.status_code == 422
    good = client.post("/api/projects", json={"prompt": PROMPT}, headers=headers)
    assert good.status_code == 201


# Python's json module (which FastAPI uses) reads the non-standard constants NaN and Infinity. A float
# field bounded only from below (end_s, narration_start_s) then takes Infinity, the project is stored,
# and every JSON answer about it fails to render.
INFINITE_TIMELINES = [
    pytest.param(
        b'{"timeline": {"scenes": [{"duration_s": 2, "layers": [{"type": "text", "text": "hi", '
        b'"end_s": Infinity}]}]}}',
        id="layer-end_s",
    ),
    pytest.param(
        b'{"timeline": {"scenes": [{"duration_s": 2, "narration_start_s": Infinity}]}}', id="narration"
    ),
]


@pytest.mark.parametrize("content", INFINITE_TIMELINES)
def test_infinity_in_a_timeline_is_422(client: TestClient, content: bytes) -> None:
    response = client.post("/api/projects", content=content, headers={"Content-Type": "application/json"})
    assert_problem(response, 422, "invalid_input")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"prompt": "hi", "duration_s": NaN}', id="duration-nan"),
        pytest.param(b'{"prompt": "hi", "duration_s": -Infinity}', id="duration-minus-infinity"),
        pytest.param(b'{"timeline": {"scenes": [{"duration_s": Infinity}]}}', id="scene-duration-infinity"),
        pytest.param(b'{"timeline": {"scenes": [{"duration_s": NaN}]}}', id="scene-duration-nan"),
    ],
)
def test_non_finite_numbers_with_bounds_are_422(client: TestClient, content: bytes) -> None:
    response = client.post("/api/projects", content=content, headers={"Content-Type": "application/json"})
    assert_problem(response, 422, "invalid_input")


def test_concurrent_requests_with_one_key_make_one_project(client: TestClient) -> None:
    def post(_: int) -> tuple[int, str]:
        response = client.post("/api/projects", json={"prompt": PROMPT}, headers={"Idempotency-Key": "race"})
        return response.status_code, response.json().get("id", response.text)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(post, range(16)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 15 + [201], results
    assert len({project_id for _, project_id in results}) == 1
