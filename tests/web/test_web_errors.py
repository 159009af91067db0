"""The one error-mapping table: each domain error class to its HTTP status, its WebSocket close code and its
public body; every outage is 503 ``service_unavailable`` with Retry-After; only a bug is a 500."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi import FastAPI
from web_support import ClientFactory, TestClient, assert_problem, create_project, png_bytes

from framecast.domain.errors import (
    AlreadyExists,
    Cancelled,
    Conflict,
    FramecastError,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RangeNotSatisfiable,
    TaskFailed,
    Unavailable,
    UnsupportedMedia,
    UnusableMessage,
)
from framecast.web import errors

CASES: list[tuple[FramecastError, int, int]] = [
    # (error, HTTP status, WebSocket close code)
    (InvalidInput("bad"), 422, 4422),
    (PayloadTooLarge("big"), 413, 4413),
    (UnsupportedMedia("what"), 415, 4415),
    (UnusableMessage("not json"), 422, 1008),  # a WebSocket frame the server cannot use: policy violation
    (NotFound("gone", code="project_not_found"), 404, 4404),
    (RangeNotSatisfiable(10), 416, 4416),
    (Conflict("no"), 409, 4409),
    (IdempotencyConflict("reused"), 409, 4409),
    (AlreadyExists("raced"), 409, 4409),
    (Cancelled("stopped"), 409, 4409),
    (Unavailable("down", code="database_down"), 503, 1011),
    (Unavailable("down", code="broker_down"), 503, 1011),
    (Unavailable("down", code="storage_down"), 503, 1011),
    (TaskFailed("broke"), 500, 1011),
    (FramecastError("other"), 400, 4400),
]


@pytest.mark.parametrize(("exc", "status", "close"), CASES, ids=lambda v: type(v).__name__)
def test_each_error_class_has_one_status_and_one_close_code(
    exc: FramecastError, status: int, close: int
) -> None:
    assert errors.status_for(exc) == status
    assert errors.ws_close_code(exc) == close


def test_a_bug_closes_a_websocket_with_1011_and_reads_internal_error() -> None:
    assert errors.ws_close_code(None) == 1011
    assert errors.public_error(None)["code"] == "internal_error"


def test_every_outage_has_the_contracts_code_and_keeps_its_cause() -> None:
    body = errors.public_error(Unavailable("The database cannot be used right now.", code="database_down"))
    assert body == {
        "code": "service_unavailable",
        "message": "The database cannot be used right now.",
        "cause": "database_down",
    }
    assert (
        errors.public_error(NotFound("No project.", code="project_not_found"))["code"] == "project_not_found"
    )


def _tiny_app(exc: BaseException) -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


def test_an_outage_is_a_503_with_retry_after_and_the_cause() -> None:
    response = _tiny_app(Unavailable("The job broker is not reachable.", code="broker_down")).get("/boom")
    body = assert_problem(response, 503, "service_unavailable")
    assert body["cause"] == "broker_down"
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 10


def test_only_a_bug_is_a_500() -> None:
    response = _tiny_app(ZeroDivisionError()).get("/boom")
    assert_problem(response, 500, "internal_error")
    assert "retry-after" not in response.headers


# -- the real app over a SQLite file that goes away and comes back ----------------------------------------


def _cut(db: Path) -> Path:
    """Make the SQLite file unusable even for root (chmod 000 stops nobody running as root): move it aside
    and put a directory in its place, so every open fails with SQLITE_CANTOPEN and nothing can create an
    empty database there. Returns where the file went."""
    aside = db.with_name(db.name + ".away")
    os.rename(db, aside)
    db.mkdir()
    return aside


def _restore(db: Path, aside: Path) -> None:
    db.rmdir()
    os.rename(aside, db)


def test_routes_answer_503_while_the_database_file_is_gone_and_heal_after(make_client: ClientFactory) -> None:
    client = make_client()
    project = create_project(client, duration_s=2, resolution="360p")
    db = Path(client.app.state.runtime.settings.data_dir) / "framecast.db"
    aside = _cut(db)
    try:
        for method, path, kwargs in [
            ("GET", f"/api/projects/{project['id']}", {}),
            ("POST", "/api/projects", {"json": {"prompt": "While the database is gone"}}),
            ("GET", "/api/videos", {}),
            ("GET", f"/api/projects/{project['id']}/events?after=0", {}),
            ("GET", f"/api/projects/{project['id']}/events", {"headers": {"Accept": "text/event-stream"}}),
            ("POST", f"/api/projects/{project['id']}/cancel", {}),
        ]:
            response = client.request(method, path, **kwargs)
            body = assert_problem(response, 503, "service_unavailable")
            assert body["cause"] == "database_down", (path, body)
            assert response.headers["retry-after"].isdigit(), path
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"].isdigit()
        assert ready.json()["checks"]["database"].startswith("database_down")
        assert not (db.is_file()), "no empty database was created in the real one's place"
    finally:
        _restore(db, aside)
    assert client.get("/readyz").status_code == 200
    assert client.get(f"/api/projects/{project['id']}").json()["status"] == "queued"
    assert create_project(client, prompt="After the database came back")["status"] == "queued"


def test_a_websocket_closes_1011_with_a_problem_when_the_database_is_gone(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    project = create_project(client, duration_s=2, resolution="360p")
    db = Path(client.app.state.runtime.settings.data_dir) / "framecast.db"
    aside = _cut(db)
    try:
        with client.websocket_connect(f"/api/projects/{project['id']}/ws") as ws:
            problem = json.loads(ws.receive_text())
            closed = ws.receive()
    finally:
        _restore(db, aside)
    assert problem["type"] == "problem" and problem["project_id"] == project["id"]
    assert problem["data"]["code"] == "service_unavailable" and problem["data"]["cause"] == "database_down"
    assert closed == {"type": "websocket.close", "code": 1011, "reason": ""}


@pytest.mark.parametrize(
    ("path", "code", "close"),
    [
        ("/api/projects/prj_nope/ws", "project_not_found", 4404),
        ("/api/projects/{id}/ws?after=-1", "invalid_input", 4422),
    ],
)
def test_websocket_close_codes_come_from_the_error_class(
    client: TestClient, path: str, code: str, close: int
) -> None:
    project = create_project(client, duration_s=2, resolution="360p")
    with client.websocket_connect(path.format(id=project["id"])) as ws:
        problem = json.loads(ws.receive_text())
        closed = ws.receive()
    assert problem["type"] == "problem" and problem["data"]["code"] == code
    assert closed["code"] == close


def test_an_upload_while_the_media_scratch_directory_is_broken_is_503_storage_down(
    client: TestClient,
) -> None:
    scratch = Path(client.app.state.runtime.settings.media_dir) / ".tmp"
    aside = scratch.with_name(".tmp.away")
    os.rename(scratch, aside)
    scratch.write_bytes(b"not a directory")  # root ignores permissions; a file where a directory must be
    try:
        response = client.post("/api/uploads", files={"file": ("logo.png", png_bytes(), "image/png")})
        assert assert_problem(response, 503, "service_unavailable")["cause"] == "storage_down"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["storage"].startswith("storage_down")
    finally:
        scratch.unlink()
        os.rename(aside, scratch)
    assert (
        client.post("/api/uploads", files={"file": ("logo.png", png_bytes(), "image/png")}).status_code == 201
    )
