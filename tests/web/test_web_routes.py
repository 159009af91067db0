"""Gallery, health, the page, docs, OpenAPI, the timeline schema, and unknown paths or methods."""

from __future__ import annotations

import pytest
from web_support import TestClient, assert_problem, create_project

#: The HTTP surface of DESIGN.md (the WebSocket route cannot appear in OpenAPI).
API_PATHS = {
    "/api/projects": {"post"},
    "/api/projects/{project_id}": {"get", "delete"},
    "/api/projects/{project_id}/events": {"get"},
    "/api/projects/{project_id}/cancel": {"post"},
    "/api/projects/{project_id}/retry": {"post"},
    "/api/projects/{project_id}/delivered": {"post"},
    "/api/uploads": {"post"},
    "/api/videos": {"get"},
    "/media/{asset_id}/{filename}": {"get"},
    "/healthz": {"get"},
    "/readyz": {"get"},
}


# -- gallery --------------------------------------------------------------------------------------------


def test_empty_gallery(client: TestClient) -> None:
    response = client.get("/api/videos")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


def test_gallery_lists_only_completed_projects(client: TestClient) -> None:
    queued = create_project(client, prompt="queued")
    cancelled = create_project(client, prompt="cancelled")
    client.post(f"/api/projects/{cancelled['id']}/cancel")
    assert queued["status"] == "queued"
    assert client.get("/api/videos").json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "-1", "101", "ten"])
def test_bad_gallery_limit_is_422(client: TestClient, limit: str) -> None:
    assert_problem(client.get(f"/api/videos?limit={limit}"), 422, "invalid_input", field="limit")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "%%%%",
        "bm90IGpzb24",  # base64 of "not json"
        "WzEsMiwzXQ",  # base64 of [1,2,3]
        "WyJub3QgYSBkYXRlIiwgInByal8xIl0",  # base64 of ["not a date", "prj_1"]
        "e30",  # base64 of {}
        "WzEsICJ4Il0",  # base64 of [1, "x"]
        "bnVsbA",  # base64 of null
    ],
)
def test_garbage_cursor_is_422(client: TestClient, cursor: str) -> None:
    response = client.get("/api/videos", params={"cursor": cursor})
    problem = assert_problem(response, 422, "invalid_input", field="cursor")
    assert "cursor" in problem["message"]


def test_overlong_cursor_is_422(client: TestClient) -> None:
    assert_problem(
        client.get("/api/videos", params={"cursor": "a" * 1000}), 422, "invalid_input", field="cursor"
    )


# -- health ---------------------------------------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_checks_database_broker_storage(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}


# -- the page, docs, schema -----------------------------------------------------------------------------


def test_root_redirects_to_the_page(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (301, 302, 303, 307, 308)
    assert response.headers["location"].endswith("/tools/video-generator")


def test_page_has_a_content_security_policy(client: TestClient) -> None:
    response = client.get("/tools/video-generator")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_docs(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text


def test_openapi_lists_the_http_surface(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in API_PATHS.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


def test_openapi_lists_the_page(client: TestClient) -> None:
    assert "/tools/video-generator" in client.get("/openapi.json").json()["paths"]


def test_timeline_schema(client: TestClient) -> None:
    response = client.get("/api/schema/timeline")
    assert response.status_code == 200
    schema = response.json()
    assert isinstance(schema, dict)
    assert schema.get("type") == "object"
    assert isinstance(schema.get("properties"), dict) and schema["properties"]


# -- unknown paths and methods --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/api/nope", "/api/projects/x/y/z", "/media", "/static/nope.js"])
def test_unknown_path_is_404_json(client: TestClient, path: str) -> None:
    assert_problem(client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/projects"),
        ("GET", "/api/uploads"),
        ("DELETE", "/api/videos"),
        ("POST", "/healthz"),
        ("GET", "/api/projects/prj_x/cancel"),
        ("PATCH", "/api/projects/prj_x"),
    ],
)
def test_wrong_method_is_405_json(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    problem = assert_problem(response, 405, "method_not_allowed")
    assert response.headers.get("allow")
    assert problem["message"]
