"""Hardening found by review: asset references, control characters, HEAD probes, ETag lists, damaged images."""

from __future__ import annotations

from web_support import TestClient, assert_problem, create_project, png_bytes


def _timeline_with_image(asset_id: str) -> dict:
    return {
        "scenes": [
            {"duration_s": 2, "layers": [{"type": "image", "asset_id": asset_id}]},
        ]
    }


def test_timeline_naming_an_unknown_upload_is_refused_at_submit(client: TestClient) -> None:
    response = client.post(
        "/api/projects", json={"timeline": _timeline_with_image("ast_does_not_exist"), "resolution": "360p"}
    )
    body = assert_problem(response, 422)
    assert body["code"] in ("unknown_asset", "invalid_input")
    assert "asset_id" in (body.get("field") or "") and "upload" in body["message"].lower()


def test_timeline_naming_a_real_upload_is_accepted(client: TestClient) -> None:
    upload = client.post("/api/uploads", files={"file": ("logo.png", png_bytes(), "image/png")})
    assert upload.status_code == 201
    response = client.post(
        "/api/projects",
        json={"timeline": _timeline_with_image(upload.json()["asset_id"]), "resolution": "360p"},
    )
    assert response.status_code == 201, response.text


def test_prompt_with_control_characters_is_422(client: TestClient) -> None:
    assert_problem(client.post("/api/projects", json={"prompt": "bad\u0000prompt"}), 422, field="prompt")
    assert (
        create_project(client, prompt="line one\nline two\ttabbed")["prompt"] == "line one\nline two\ttabbed"
    )


def test_head_probes_answer(client: TestClient) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.head("/readyz").status_code == 200


def test_if_none_match_list_and_star(client: TestClient) -> None:
    project = create_project(client)
    url = f"/api/projects/{project['id']}"
    etag = client.get(url).headers["etag"]
    assert client.get(url, headers={"If-None-Match": f'"nope", {etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_truncated_png_is_415(client: TestClient) -> None:
    data = png_bytes((64, 64))
    response = client.post("/api/uploads", files={"file": ("x.png", data[:40], "image/png")})
    assert_problem(response, 415, code="unsupported_media_type")
