"""X-Request-ID on every answer (success, error, the guards' refusals, a 500), the client's own id kept when
it is a sane token, and ``request_id`` in every error body, equal to the header."""

from __future__ import annotations

import re

import pytest
from web_support import ClientFactory, TestClient, assert_problem

GENERATED = re.compile(r"req_[0-9a-f]{24}")


def _same_id_in_body(response: object) -> str:
    rid = response.headers["x-request-id"]  # type: ignore[attr-defined]
    assert response.json()["request_id"] == rid  # type: ignore[attr-defined]
    return str(rid)


def test_a_success_carries_a_generated_id(client: TestClient) -> None:
    first = client.get("/healthz")
    second = client.get("/api/videos")
    assert first.status_code == second.status_code == 200
    assert GENERATED.fullmatch(first.headers["x-request-id"])
    assert GENERATED.fullmatch(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert "x-request-id" in client.get("/tools/video-generator").headers


@pytest.mark.parametrize("given", ["abc", "trace-7.Q_x", "x" * 100])
def test_the_clients_sane_id_is_kept(client: TestClient, given: str) -> None:
    ok = client.get("/healthz", headers={"X-Request-ID": given})
    assert ok.headers["x-request-id"] == given
    missing = client.get("/api/projects/prj_nope", headers={"X-Request-ID": given})
    assert_problem(missing, 404, "project_not_found")
    assert _same_id_in_body(missing) == given


@pytest.mark.parametrize("given", ["", "x" * 101, "has space", "semi;colon", "new\tline", "ümlaut", "a/b"])
def test_an_insane_id_is_replaced(client: TestClient, given: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": given.encode()})
    assert GENERATED.fullmatch(response.headers["x-request-id"])


def test_every_kind_of_error_body_carries_the_id(make_client: ClientFactory) -> None:
    client = make_client(max_body_bytes=1000)
    cases = [
        (client.get("/api/projects/prj_nope"), 404),
        (client.post("/api/projects", json={"prompt": ""}), 422),
        (
            client.post("/api/projects", content=b"{not json", headers={"content-type": "application/json"}),
            422,
        ),
        (
            client.post("/api/projects", content=b"x" * 5000, headers={"content-type": "application/json"}),
            413,
        ),
        (client.get("/no/such/page"), 404),
        (client.put("/api/videos"), 405),
        (client.get("/api/videos", headers={"Host": "evil.example"}), 421),
        (client.post("/api/projects", json={"prompt": "x"}, headers={"Origin": "https://evil.example"}), 403),
    ]
    for response, status in cases:
        assert_problem(response, status)
        _same_id_in_body(response)


def test_unauthenticated_and_forbidden_carry_the_id(make_client: ClientFactory) -> None:
    client = make_client(auth="keys")
    response = client.get("/api/videos", headers={"X-Request-ID": "who-am-i"})
    assert_problem(response, 401, "unauthenticated")
    assert _same_id_in_body(response) == "who-am-i"


def test_a_bug_answers_500_with_the_id(client: TestClient) -> None:
    def boom() -> None:
        raise RuntimeError("a bug")

    client.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    response = client.get("/boom", headers={"X-Request-ID": "bug-1"})
    assert_problem(response, 500, "internal_error")
    assert _same_id_in_body(response) == "bug-1"


def test_the_websocket_handshake_carries_the_id(client: TestClient, project: dict[str, object]) -> None:
    with client.websocket_connect(
        f"/api/projects/{project['id']}/ws", headers={"X-Request-ID": "ws-1"}
    ) as ws:
        assert ws.receive_json()["type"] == "hello"
        # Starlette's test session keeps the accept message's headers
        assert (b"x-request-id", b"ws-1") in ws.extra_headers  # type: ignore[attr-defined]
