"""Snapshot, JSON polling, cancel, retry, delete and delivered on a queued project (no worker runs)."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import TestClient, assert_problem, create_project

SNAPSHOT_FIELDS = {
    "id",
    "status",
    "terminal",
    "prompt",
    "options",
    "tasks",
    "assets",
    "result",
    "error",
    "created_at",
    "updated_at",
    "last_seq",
    "next_poll_ms",
}


def _events(client: TestClient, project_id: str, after: int = 0) -> dict[str, Any]:
    response = client.get(f"/api/projects/{project_id}/events", params={"after": after})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


# -- snapshot -------------------------------------------------------------------------------------------


def test_snapshot_has_every_field_of_the_contract(client: TestClient, project: dict[str, Any]) -> None:
    response = client.get(f"/api/projects/{project['id']}")
    assert response.status_code == 200
    snapshot = response.json()
    assert SNAPSHOT_FIELDS <= snapshot.keys()
    assert snapshot["id"] == project["id"]
    assert snapshot["status"] == "queued" and snapshot["terminal"] is False
    assert snapshot["options"]["duration_s"] == 2 and snapshot["options"]["resolution"] == "360p"
    assert isinstance(snapshot["tasks"], list) and snapshot["tasks"]
    for task in snapshot["tasks"]:
        assert {"id", "kind", "status", "terminal", "progress", "attempt"} <= task.keys()
    assert snapshot["assets"] == []
    assert snapshot["result"] is None and snapshot["error"] is None
    assert snapshot["last_seq"] >= 1
    assert isinstance(snapshot["next_poll_ms"], int) and snapshot["next_poll_ms"] > 0


def test_snapshot_etag_and_304(client: TestClient, project: dict[str, Any]) -> None:
    url = f"/api/projects/{project['id']}"
    first = client.get(url)
    etag = first.headers["etag"]
    assert etag
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get(url, headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200


def test_etag_changes_when_the_project_changes(client: TestClient, project: dict[str, Any]) -> None:
    url = f"/api/projects/{project['id']}"
    etag = client.get(url).headers["etag"]
    assert client.post(f"{url}/cancel").status_code == 200
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag


def test_unknown_project_is_404(client: TestClient) -> None:
    problem = assert_problem(client.get("/api/projects/prj_doesnotexist"), 404, "project_not_found")
    assert "prj_doesnotexist" in problem["message"]


def test_overlong_project_id_is_4xx(client: TestClient) -> None:
    response = client.get("/api/projects/" + "p" * 500)
    assert response.status_code in (404, 422)
    assert_problem(response, response.status_code)


# -- JSON polling ---------------------------------------------------------------------------------------


def test_after_0_returns_the_whole_log_in_seq_order(client: TestClient, project: dict[str, Any]) -> None:
    body = _events(client, project["id"], after=0)
    assert {"events", "last_seq", "terminal", "next_poll_ms"} <= body.keys()
    seqs = [event["seq"] for event in body["events"]]
    assert seqs == list(range(1, body["last_seq"] + 1))
    assert body["terminal"] is False and body["next_poll_ms"] > 0
    first = body["events"][0]
    assert first["type"] == "project_status" and first["data"]["status"] == "queued"
    for event in body["events"]:
        assert {"seq", "type", "project_id", "ts", "data"} <= event.keys()
        assert event["project_id"] == project["id"]


def test_no_after_is_the_whole_log(client: TestClient, project: dict[str, Any]) -> None:
    response = client.get(f"/api/projects/{project['id']}/events")
    assert response.status_code == 200
    assert response.json()["events"] == _events(client, project["id"], after=0)["events"]


def test_after_k_returns_the_tail_of_the_log(client: TestClient, project: dict[str, Any]) -> None:
    client.post(f"/api/projects/{project['id']}/cancel")
    client.post(f"/api/projects/{project['id']}/retry")
    whole = _events(client, project["id"], after=0)
    assert whole["last_seq"] >= 4
    for k in range(whole["last_seq"] + 2):
        tail = _events(client, project["id"], after=k)
        assert tail["events"] == whole["events"][k:]
        assert tail["last_seq"] == whole["last_seq"]


#: Not cursors: a cursor is ASCII digits only (int() would take most of these).
NOT_CURSORS = ["-1", "abc", "1.5", "", "1.0", "+1", "1_0", " 1", "1 ", "0x1", "١٢", "1e3", "12abc", "²"]


@pytest.mark.parametrize("after", NOT_CURSORS)
def test_bad_after_is_422(client: TestClient, project: dict[str, Any], after: str) -> None:
    response = client.get(f"/api/projects/{project['id']}/events", params={"after": after})
    problem = assert_problem(response, 422, "invalid_input", field="after")
    assert "ASCII digits" in problem["message"]


def test_bad_after_with_sse_accept_is_422_before_any_stream(
    client: TestClient, project: dict[str, Any]
) -> None:
    response = client.get(
        f"/api/projects/{project['id']}/events?after=abc", headers={"Accept": "text/event-stream"}
    )
    assert_problem(response, 422, "invalid_input", field="after")


@pytest.mark.parametrize("header", [*NOT_CURSORS, "9" * 30, str(2**31 + 1)])
def test_a_bad_last_event_id_is_ignored_like_a_browser_does(
    client: TestClient, project: dict[str, Any], header: str
) -> None:
    client.post(f"/api/projects/{project['id']}/cancel")
    whole = _events(client, project["id"])
    url = f"/api/projects/{project['id']}/events"
    response = client.get(url, headers={"Last-Event-ID": header.encode()})
    assert response.status_code == 200, response.text
    assert response.json()["events"] == whole["events"]  # no cursor: from 0
    response = client.get(url, params={"after": 1}, headers={"Last-Event-ID": header.encode()})
    assert response.json()["events"] == whole["events"][1:]  # ?after, as if the header were absent


def test_huge_after_is_422(client: TestClient, project: dict[str, Any]) -> None:
    response = client.get(f"/api/projects/{project['id']}/events", params={"after": "9" * 30})
    assert_problem(response, 422, "invalid_input", field="after")
    response = client.get(f"/api/projects/{project['id']}/events", params={"after": str(2**31 + 1)})
    assert_problem(response, 422, "invalid_input", field="after")


def test_last_event_id_resumes_polling(client: TestClient, project: dict[str, Any]) -> None:
    client.post(f"/api/projects/{project['id']}/cancel")
    whole = _events(client, project["id"])
    response = client.get(f"/api/projects/{project['id']}/events", headers={"Last-Event-ID": "1"})
    assert response.status_code == 200
    assert response.json()["events"] == whole["events"][1:]


def test_last_event_id_wins_over_after(client: TestClient, project: dict[str, Any]) -> None:
    # An EventSource keeps its URL (?after=0) and sends the header on every reconnect.
    client.post(f"/api/projects/{project['id']}/cancel")
    whole = _events(client, project["id"])
    url = f"/api/projects/{project['id']}/events"
    response = client.get(url, params={"after": 0}, headers={"Last-Event-ID": "2"})
    assert response.json()["events"] == whole["events"][2:]
    response = client.get(url, params={"after": 3}, headers={"Last-Event-ID": "1"})
    assert response.json()["events"] == whole["events"][1:]


def test_head_on_the_events_route_answers_like_polling_never_a_stream(
    client: TestClient, project: dict[str, Any]
) -> None:
    url = f"/api/projects/{project['id']}/events"
    polled = client.get(url, params={"after": 0})
    for accept in ("application/json", "text/event-stream"):
        response = client.head(url, params={"after": 0}, headers={"Accept": accept})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["content-length"] == polled.headers["content-length"]
        assert response.content == b""
    assert_problem(client.get("/api/projects/prj_nope/events"), 404, "project_not_found")
    assert client.head("/api/projects/prj_nope/events").status_code == 404


def test_polling_unknown_project_is_404(client: TestClient) -> None:
    assert_problem(client.get("/api/projects/prj_nope/events?after=0"), 404, "project_not_found")


def test_sse_unknown_project_is_404_before_any_stream(client: TestClient) -> None:
    response = client.get("/api/projects/prj_nope/events", headers={"Accept": "text/event-stream"})
    assert_problem(response, 404, "project_not_found")


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_bad_polling_limit_is_422(client: TestClient, project: dict[str, Any], limit: str) -> None:
    response = client.get(f"/api/projects/{project['id']}/events?after=0&limit={limit}")
    assert_problem(response, 422, "invalid_input", field="limit")


# -- cancel and retry -----------------------------------------------------------------------------------


def test_cancel_a_queued_project(client: TestClient, project: dict[str, Any]) -> None:
    response = client.post(f"/api/projects/{project['id']}/cancel")
    assert response.status_code == 200
    snapshot = response.json()
    assert snapshot["status"] == "cancelled" and snapshot["terminal"] is True
    assert snapshot["next_poll_ms"] is None or snapshot["next_poll_ms"] > 0
    assert all(task["terminal"] for task in snapshot["tasks"])
    log = _events(client, project["id"])
    last = log["events"][-1]
    assert last["type"] == "project_status"
    assert last["data"]["status"] == "cancelled" and last["data"]["terminal"] is True
    assert last["seq"] == log["last_seq"] == snapshot["last_seq"]
    assert log["terminal"] is True


def test_cancel_twice_is_idempotent(client: TestClient, project: dict[str, Any]) -> None:
    url = f"/api/projects/{project['id']}/cancel"
    first = client.post(url).json()
    second = client.post(url)
    assert second.status_code == 200
    assert second.json()["status"] == "cancelled"
    assert second.json()["last_seq"] == first["last_seq"]  # no second cancelled event


def test_cancel_unknown_project_is_404(client: TestClient) -> None:
    assert_problem(client.post("/api/projects/prj_nope/cancel"), 404, "project_not_found")


def test_retry_a_cancelled_project_continues_the_same_log(
    client: TestClient, project: dict[str, Any]
) -> None:
    base = f"/api/projects/{project['id']}"
    cancelled = client.post(f"{base}/cancel").json()
    response = client.post(f"{base}/retry")
    assert response.status_code == 200
    retried = response.json()
    assert retried["id"] == project["id"]
    assert retried["status"] == "queued" and retried["terminal"] is False
    assert retried["error"] is None
    assert retried["last_seq"] > cancelled["last_seq"]
    assert any(task["attempt"] >= 2 for task in retried["tasks"])
    tail = _events(client, project["id"], after=cancelled["last_seq"])
    assert tail["events"], "the retry wrote no events"
    assert [e["seq"] for e in tail["events"]] == list(
        range(cancelled["last_seq"] + 1, retried["last_seq"] + 1)
    )
    assert any(e["type"] == "project_status" and e["data"]["status"] == "queued" for e in tail["events"])
    whole = _events(client, project["id"])
    assert [e["seq"] for e in whole["events"]] == list(range(1, retried["last_seq"] + 1))


def test_retry_a_queued_project_is_409(client: TestClient, project: dict[str, Any]) -> None:
    problem = assert_problem(client.post(f"/api/projects/{project['id']}/retry"), 409, "not_retryable")
    assert "queued" in problem["message"]


def test_retry_twice_is_409_the_second_time(client: TestClient, project: dict[str, Any]) -> None:
    base = f"/api/projects/{project['id']}"
    client.post(f"{base}/cancel")
    assert client.post(f"{base}/retry").status_code == 200
    assert_problem(client.post(f"{base}/retry"), 409, "not_retryable")


def test_retry_unknown_project_is_404(client: TestClient) -> None:
    assert_problem(client.post("/api/projects/prj_nope/retry"), 404, "project_not_found")


# -- delete ---------------------------------------------------------------------------------------------


def test_delete_then_get_is_404(client: TestClient, project: dict[str, Any]) -> None:
    url = f"/api/projects/{project['id']}"
    response = client.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(url), 404, "project_not_found")
    assert_problem(client.get(f"{url}/events?after=0"), 404, "project_not_found")
    assert_problem(client.delete(url), 404, "project_not_found")


def test_delete_unknown_is_404(client: TestClient) -> None:
    assert_problem(client.delete("/api/projects/prj_nope"), 404, "project_not_found")


def test_delete_keeps_other_projects(client: TestClient, project: dict[str, Any]) -> None:
    other = create_project(client, prompt="Another one")
    assert client.delete(f"/api/projects/{project['id']}").status_code == 204
    assert client.get(f"/api/projects/{other['id']}").status_code == 200


def test_idempotency_key_after_delete_does_not_500(client: TestClient) -> None:
    headers = {"Idempotency-Key": "deleted-key"}
    first = client.post("/api/projects", json={"prompt": "x"}, headers=headers)
    assert client.delete(f"/api/projects/{first.json()['id']}").status_code == 204
    again = client.post("/api/projects", json={"prompt": "x"}, headers=headers)
    assert again.status_code in (200, 201)
    assert client.get(f"/api/projects/{again.json()['id']}").status_code == 200


# -- delivered ------------------------------------------------------------------------------------------


def test_delivered_records_delivered_at(client: TestClient, project: dict[str, Any]) -> None:
    url = f"/api/projects/{project['id']}"
    assert client.get(url).json().get("delivered_at") is None
    seq = client.get(url).json()["last_seq"]
    response = client.post(f"{url}/delivered", json={"seq": seq})
    assert response.status_code == 200
    delivered_at = response.json()["delivered_at"]
    assert isinstance(delivered_at, str) and delivered_at
    assert client.get(url).json()["delivered_at"] == delivered_at


def test_delivered_without_body_is_accepted(client: TestClient, project: dict[str, Any]) -> None:
    response = client.post(f"/api/projects/{project['id']}/delivered")
    assert response.status_code == 200
    assert response.json()["delivered_at"]


def test_delivered_seq_beyond_last_seq_is_422(client: TestClient, project: dict[str, Any]) -> None:
    last_seq = project["last_seq"]
    response = client.post(f"/api/projects/{project['id']}/delivered", json={"seq": last_seq + 1})
    problem = assert_problem(response, 422, "invalid_input", field="seq")
    assert str(last_seq) in problem["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"seq": 1, "extra": True}, "extra", id="unknown-field"),
        pytest.param({"seq": -1}, "seq", id="negative-seq"),
        pytest.param({"seq": "one"}, "seq", id="seq-not-int"),
    ],
)
def test_delivered_bad_body_is_422(
    client: TestClient, project: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    response = client.post(f"/api/projects/{project['id']}/delivered", json=body)
    assert_problem(response, 422, "invalid_input", field=field)


def test_delivered_unknown_project_is_404(client: TestClient) -> None:
    assert_problem(client.post("/api/projects/prj_nope/delivered", json={"seq": 0}), 404, "project_not_found")
