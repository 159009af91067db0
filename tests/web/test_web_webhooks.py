"""The webhook routes over the real app (SQLite, in-process, no workers, no sender loop): URL refusal at
creation, validation, owner isolation of /api/webhooks and /deliveries, and the check again at send time."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tests.support.receiver import running_receiver
from web_support import ClientFactory, TestClient, assert_problem, create_project

from framecast.domain.webhooks import WebhookEndpoint
from framecast.services.identity import KeyService
from framecast.settings import Settings

PUBLIC = "https://93.184.215.14/hook"  # a public address literal: nothing to resolve, nothing sent


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:9/hook",
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "https://example.com/" + "x" * 2000,
    ],
)
def test_a_url_that_is_not_public_http_is_refused_at_creation(client: TestClient, url: str) -> None:
    for path, body in (
        ("/api/webhooks", {"url": url}),
        ("/api/projects", {"prompt": "A lighthouse", "webhook": url}),
    ):
        body_ = assert_problem(client.post(path, json=body), 422, "webhook_url_not_allowed")
        assert body_["field"] in ("url", "webhook")
    assert client.get("/api/webhooks").json()["items"] == []


def test_the_override_allows_private_addresses(make_client: ClientFactory) -> None:
    client = make_client(webhook_allow_private=True)
    made = client.post("/api/webhooks", json={"url": "http://localhost:9/hook"})
    assert made.status_code == 201, made.text
    create_project(client, webhook="http://127.0.0.1:9/hook")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "p", "webhook": PUBLIC, "webhook_events": ["finished"]}, "webhook_events.0"),
        ({"prompt": "p", "webhook": PUBLIC, "webhook_events": []}, "webhook_events"),
        ({"prompt": "p", "webhook_events": ["completed"]}, ""),
    ],
)
def test_bad_webhook_events_are_422(client: TestClient, body: dict[str, Any], field: str) -> None:
    problem = assert_problem(client.post("/api/projects", json=body), 422, "invalid_input")
    if field:
        assert problem["field"] == field
    else:
        assert "webhook_events needs a webhook" in problem["message"]


def test_creating_an_endpoint_shows_its_secret_once(client: TestClient) -> None:
    made = client.post("/api/webhooks", json={"url": PUBLIC, "events": ["file", "completed", "file"]})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["file", "completed"]
    assert body["id"].startswith("whk_") and body["disabled_at"] is None
    (listed,) = client.get("/api/webhooks").json()["items"]
    assert "secret" not in listed and listed["id"] == body["id"]
    assert_problem(
        client.post("/api/webhooks", json={"url": PUBLIC, "events": ["nope"]}), 422, "invalid_input"
    )
    assert_problem(client.post("/api/webhooks", json={"url": PUBLIC, "extra": 1}), 422, "invalid_input")


def test_every_route_declares_its_response_model() -> None:
    from framecast.web.routers import deliveries, webhooks

    routes = {
        (method, route.path): route
        for route in [*webhooks.router.routes, *deliveries.router.routes]
        for method in getattr(route, "methods", ())
    }
    for key in (
        ("POST", "/api/webhooks"),
        ("GET", "/api/webhooks"),
        ("GET", "/api/projects/{project_id}/deliveries"),
        ("POST", "/api/projects/{project_id}/deliveries/{delivery_id}/redeliver"),
    ):
        assert getattr(routes[key], "response_model", None) is not None, key
    assert ("DELETE", "/api/webhooks/{endpoint_id}") in routes


class Tenants:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        keys = KeyService(client.app.state.runtime.ledger)  # type: ignore[attr-defined]
        self.a = {"Authorization": f"Bearer {keys.create('alice')[1]}"}
        self.b = {"Authorization": f"Bearer {keys.create('bob')[1]}"}
        made = client.post("/api/webhooks", json={"url": PUBLIC}, headers=self.a)
        assert made.status_code == 201, made.text
        self.endpoint = made.json()["id"]
        project = client.post(
            "/api/projects", json={"prompt": "A lighthouse", "webhook": PUBLIC}, headers=self.a
        )
        assert project.status_code == 201, project.text
        self.project = project.json()["id"]
        assert client.post(f"/api/projects/{self.project}/cancel", headers=self.a).status_code == 200
        items = client.get(f"/api/projects/{self.project}/deliveries", headers=self.a).json()["items"]
        assert len(items) == 2  # the project's webhook and alice's endpoint
        self.delivery = items[0]["id"]


@pytest.fixture
def tenants(make_client: ClientFactory) -> Tenants:
    return Tenants(make_client(auth="keys"))


def test_another_owner_cannot_see_or_remove_an_endpoint(tenants: Tenants) -> None:
    c = tenants.client
    assert c.get("/api/webhooks", headers=tenants.b).json()["items"] == []
    theirs = assert_problem(
        c.delete(f"/api/webhooks/{tenants.endpoint}", headers=tenants.b), 404, "webhook_not_found"
    )
    missing = assert_problem(
        c.delete("/api/webhooks/whk_00000000000000000000", headers=tenants.b), 404, "webhook_not_found"
    )
    assert theirs["message"].replace(tenants.endpoint, "X") == missing["message"].replace(
        "whk_00000000000000000000", "X"
    )
    assert len(c.get("/api/webhooks", headers=tenants.a).json()["items"]) == 1
    assert c.get("/api/webhooks").status_code == 401


def test_another_owner_gets_404_for_deliveries_and_redeliver(tenants: Tenants) -> None:
    c, p, d = tenants.client, tenants.project, tenants.delivery
    for method, path in (
        ("GET", f"/api/projects/{p}/deliveries"),
        ("POST", f"/api/projects/{p}/deliveries/{d}/redeliver"),
    ):
        theirs = c.request(method, path, headers=tenants.b)
        missing = c.request(method, path.replace(p, "prj_00000000000000000000"), headers=tenants.b)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["code"] == missing.json()["code"] == "project_not_found"
        assert c.request(method, path).status_code == 401
    assert c.post(f"/api/projects/{p}/deliveries/{d}/redeliver", headers=tenants.a).status_code == 200


def test_a_delivery_token_reads_the_project_but_not_its_deliveries(tenants: Tenants) -> None:
    c = tenants.client
    token = c.post(f"/api/projects/{tenants.project}/tokens", json={}, headers=tenants.a).json()["token"]
    assert c.get(f"/api/projects/{tenants.project}?token={token}").status_code == 200
    assert c.get(f"/api/projects/{tenants.project}/deliveries?token={token}").status_code == 401


def test_a_name_that_resolves_to_loopback_is_refused_again_at_send_time(client: TestClient) -> None:
    """As if DNS changed after creation: the endpoint is stored (behind the check's back) with a URL whose
    name is localhost; the real sender refuses it when sending, and the receiver gets nothing."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with running_receiver() as receiver:
        url = receiver.url("/rebound", host="localhost")
        with runtime.ledger.transaction() as tx:
            tx.webhooks.add_endpoint(
                WebhookEndpoint(id="whk_rebound", owner="local", url=url, events=["cancelled"], secret=None)
            )
        project = create_project(client)
        client.post(f"/api/projects/{project['id']}/cancel")
        (claimed,) = runtime.webhooks.claim_due()
        runtime.webhooks.attempt(claimed)
        assert receiver.at("/rebound") == []
    (item,) = client.get(f"/api/projects/{project['id']}/deliveries").json()["items"]
    assert item["state"] == "pending"  # it is retried: the name may point elsewhere again
    (attempt,) = item["attempts"]
    assert attempt["status_code"] is None and "loopback" in attempt["error"]


@pytest.mark.parametrize(
    "secret",
    ["nope", "whsec_not base64!", "whsec_c2hvcnQ=", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="],
)
def test_a_bad_service_secret_is_refused_with_a_hint(secret: str) -> None:
    with pytest.raises(ValidationError, match="whsec_ followed by base64"):
        Settings(webhook_secret=secret)


def test_a_good_service_secret_is_accepted() -> None:
    good = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
    assert Settings(webhook_secret=good).webhook_secret == good


def test_a_previous_service_secret_needs_a_current_one_and_the_same_form() -> None:
    good = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
    old = "whsec_b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQtb2xkLW9sZDE="
    both = Settings(webhook_secret=good, webhook_secret_previous=old)
    assert (both.webhook_secret, both.webhook_secret_previous) == (good, old)
    with pytest.raises(ValidationError, match="FRAMECAST_WEBHOOK_SECRET_PREVIOUS must be whsec_"):
        Settings(webhook_secret=good, webhook_secret_previous="nope")
    with pytest.raises(ValidationError, match="set the new one in FRAMECAST_WEBHOOK_SECRET too"):
        Settings(webhook_secret_previous=old)


# -- rotating an endpoint's secret ------------------------------------------------------------------------


def test_rotate_answers_a_new_secret_once_and_its_grace(client: TestClient) -> None:
    made = client.post("/api/webhooks", json={"url": PUBLIC}).json()
    rotated = client.post(f"/api/webhooks/{made['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != made["secret"]
    assert body["id"] == made["id"] and body["previous_secret_until"] is not None  # a day by default
    at_once = client.post(f"/api/webhooks/{made['id']}/rotate", json={"grace_s": 0}).json()
    assert at_once["previous_secret_until"] is None and at_once["secret"] != body["secret"]
    (listed,) = client.get("/api/webhooks").json()["items"]
    assert "secret" not in listed and "previous_secret" not in listed
    for bad in ({"grace_s": -1}, {"grace_s": 604801}, {"grace_s": "soon"}, {"grace": 5}):
        assert_problem(client.post(f"/api/webhooks/{made['id']}/rotate", json=bad), 422, "invalid_input")
    # A state change like any other: the cross-site guard applies.
    foreign = client.post(f"/api/webhooks/{made['id']}/rotate", headers={"Origin": "https://evil.example"})
    assert_problem(foreign, 403, "cross_site_request")


def test_rotate_is_documented_with_its_response_model(client: TestClient) -> None:
    from framecast.web import schemas as models
    from framecast.web.routers import webhooks

    (route,) = [
        r for r in webhooks.router.routes if getattr(r, "path", "") == "/api/webhooks/{endpoint_id}/rotate"
    ]
    assert getattr(route, "response_model", None) is models.WebhookEndpointRotated
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"secret", "previous_secret_until"} <= set(schemas["WebhookEndpointRotated"]["properties"])


def test_another_owner_rotating_gets_404_like_a_missing_id_and_no_key_401(tenants: Tenants) -> None:
    c = tenants.client
    path = f"/api/webhooks/{tenants.endpoint}/rotate"
    theirs = assert_problem(c.post(path, headers=tenants.b), 404, "webhook_not_found")
    missing = assert_problem(
        c.post("/api/webhooks/whk_00000000000000000000/rotate", headers=tenants.b), 404, "webhook_not_found"
    )
    assert theirs["message"].replace(tenants.endpoint, "X") == missing["message"].replace(
        "whk_00000000000000000000", "X"
    )
    # A project's own webhook is not an endpoint of /api/webhooks either.
    with c.app.state.runtime.ledger.read() as tx:  # type: ignore[attr-defined]
        (own,) = [e for e in tx.webhooks.endpoints("alice", project_id=tenants.project) if e.project_id]
    assert_problem(c.post(f"/api/webhooks/{own.id}/rotate", headers=tenants.a), 404, "webhook_not_found")
    assert_problem(c.post(path), 401, "unauthenticated")
    assert c.post(path, headers=tenants.a).status_code == 200
