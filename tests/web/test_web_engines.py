"""GET /api/engines and the create check of the project option `engine`."""

from __future__ import annotations

from pathlib import Path

from web_support import ClientFactory, TestClient, create_project


def test_engines_lists_what_each_accepts(client: TestClient) -> None:
    response = client.get("/api/engines")
    assert response.status_code == 200
    body = response.json()
    assert body["default"] == "procedural"
    assert [e["name"] for e in body["engines"]] == ["procedural"]
    procedural = body["engines"][0]
    assert procedural["accepts_timeline"] is True and procedural["max_duration_s"] == 600
    assert procedural["fps"] == [24, 25, 30, 60]


def test_an_unconfigured_engine_is_422_naming_the_available_ones(client: TestClient) -> None:
    response = client.post("/api/projects", json={"prompt": "A fox", "engine": "diffusers"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "engine_not_available"
    assert problem["field"] == "engine"
    assert "available: procedural" in problem["message"]
    bad = client.post("/api/projects", json={"prompt": "A fox", "engine": "Not An Engine!"})
    assert bad.status_code == 422


def test_the_procedural_engine_is_the_default_and_can_be_named(client: TestClient) -> None:
    assert create_project(client, duration_s=2)["options"]["engine"] == "procedural"
    assert create_project(client, duration_s=2, engine="procedural")["options"]["engine"] == "procedural"


def test_a_configured_engine_refuses_options_it_cannot_do(make_client: ClientFactory, tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    client = make_client(diffusers_model=tmp_path / "model", diffusers_max_duration_s=4)
    names = [e["name"] for e in client.get("/api/engines").json()["engines"]]
    assert names == ["procedural", "diffusers"]
    too_long = client.post("/api/projects", json={"prompt": "A fox", "engine": "diffusers", "duration_s": 8})
    assert too_long.status_code == 422 and too_long.json()["field"] == "duration_s"
    timeline = {"scenes": [{"duration_s": 2}]}
    no_timeline = client.post("/api/projects", json={"timeline": timeline, "engine": "diffusers"})
    assert no_timeline.status_code == 422 and no_timeline.json()["code"] == "engine_not_available"
    ok = create_project(client, engine="diffusers", duration_s=2, resolution="360p", fps=24)
    assert ok["options"]["engine"] == "diffusers"


def test_engines_needs_the_same_sign_in_as_the_api(make_client: ClientFactory) -> None:
    client = make_client(auth="keys")
    assert client.get("/api/engines").status_code == 401
