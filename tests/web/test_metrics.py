"""GET /metrics over the real app (SQLite ledger, embedded broker, no workers): who may read it, what it
exposes, and that no owner or prompt appears in it. tests/integration/test_operations.py watches the
numbers move on a real server with two worker processes."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from web_support import ClientFactory, TestClient, assert_problem

from framecast.services.identity import KeyService
from framecast.services.metrics import count_webhook_delivery

CONTRACT = {
    # family name as the parser reports it -> type
    "framecast_projects_total": "gauge",
    "framecast_tasks_queued": "gauge",
    "framecast_tasks_running": "gauge",
    "framecast_task_duration_seconds": "histogram",
    "framecast_render_frames_per_second": "histogram",
    "framecast_stream_connections": "gauge",
    "framecast_event_delivery_lag_seconds": "histogram",
    "framecast_webhook_deliveries": "counter",
    "framecast_dead_letters": "gauge",
}


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams: dict[str, Any], family: str, sample: str | None = None, **labels: str) -> float:
    for s in fams[family].samples:
        if s.name == (sample or family) and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    raise AssertionError(f"no sample {sample or family}{labels}")


def test_every_contract_family_is_exposed_in_prometheus_text(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    fams = families(response.text)
    for name, kind in CONTRACT.items():
        assert name in fams, name
        assert fams[name].type == kind, (name, fams[name].type)
    assert "framecast_webhook_deliveries_total" in response.text  # the counter's exposed name
    assert value(fams, "framecast_projects_total", status="queued") == 0
    assert value(fams, "framecast_tasks_queued", kind="render_chunk") == 0
    assert value(fams, "framecast_stream_connections", transport="sse") == 0
    assert value(fams, "framecast_dead_letters") == 0
    assert value(fams, "framecast_metrics_source_up", source="ledger") == 1
    assert client.head("/metrics").status_code == 200


def test_projects_and_queued_tasks_are_counted_and_no_owner_or_prompt_appears(
    make_client: ClientFactory,
) -> None:
    client = make_client(auth="keys")
    keys = KeyService(client.app.state.runtime.ledger)  # type: ignore[attr-defined]
    secret_owner = keys.create("zelda-the-owner")[1]
    admin = {"Authorization": f"Bearer {keys.create('ops', admin=True)[1]}"}
    for _ in range(2):
        made = client.post(
            "/api/projects",
            json={"prompt": "A very private prompt about a lighthouse"},
            headers={"Authorization": f"Bearer {secret_owner}"},
        )
        assert made.status_code == 201, made.text
    text = client.get("/metrics", headers=admin).text
    fams = families(text)
    assert value(fams, "framecast_projects_total", status="queued") == 2
    assert value(fams, "framecast_tasks_queued", kind="plan") == 2  # each plan task is with the broker
    assert "zelda" not in text and "private prompt" not in text and "lighthouse" not in text
    labels = {k for f in fams.values() for s in f.samples for k in s.labels}
    assert labels <= {"status", "kind", "transport", "outcome", "le", "source"}, labels


@pytest.fixture
def keyed(make_client: ClientFactory) -> tuple[TestClient, dict[str, dict[str, str]]]:
    client = make_client(auth="keys", metrics_token="prom-scrape-token-1")
    keys = KeyService(client.app.state.runtime.ledger)  # type: ignore[attr-defined]
    return client, {
        "user": {"Authorization": f"Bearer {keys.create('alice')[1]}"},
        "admin": {"Authorization": f"Bearer {keys.create('ops', admin=True)[1]}"},
        "token": {"Authorization": "Bearer prom-scrape-token-1"},
    }


def test_keys_mode_no_key_is_401(keyed: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, _ = keyed
    body = assert_problem(client.get("/metrics"), 401, "unauthenticated")
    assert body["request_id"]
    assert client.get("/metrics").headers["www-authenticate"].startswith("Bearer")
    assert client.head("/metrics").status_code == 401


def test_keys_mode_a_key_that_is_not_an_admin_is_refused_403(
    keyed: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = keyed
    body = assert_problem(client.get("/metrics", headers=h["user"]), 403, "metrics_forbidden")
    assert "admin" in body["message"]


def test_keys_mode_an_admin_key_and_the_metrics_token_are_accepted(
    keyed: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = keyed
    for who in ("admin", "token"):
        response = client.get("/metrics", headers=h[who])
        assert response.status_code == 200, (who, response.text)
        assert "framecast_projects_total" in families(response.text)


def test_a_wrong_token_or_a_delivery_token_is_not_the_metrics_token(
    keyed: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = keyed
    assert_problem(client.get("/metrics", headers={"Authorization": "Bearer prom-scrape-token-2"}), 401)
    made = client.post("/api/projects", json={"prompt": "A boat"}, headers=h["user"])
    token = client.post(f"/api/projects/{made.json()['id']}/tokens", json={}, headers=h["user"]).json()[
        "token"
    ]
    assert_problem(client.get("/metrics", headers={"Authorization": f"Bearer {token}"}), 401)
    assert_problem(client.get(f"/metrics?token={token}"), 401)


def test_proxy_mode_needs_the_metrics_token(make_client: ClientFactory) -> None:
    app = make_client(auth="proxy", trusted_proxies=["127.0.0.0/8"], metrics_token="prom-token").app
    client = TestClient(app, client=("127.0.0.1", 50000))  # the proxy's address
    assert_problem(client.get("/metrics"), 401)
    assert_problem(client.get("/metrics", headers={"X-Forwarded-User": "ana"}), 403, "metrics_forbidden")
    assert client.get("/metrics", headers={"Authorization": "Bearer prom-token"}).status_code == 200


def test_in_none_mode_metrics_are_open(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 200


def test_webhook_deliveries_come_from_the_counters_the_sender_bumps(client: TestClient) -> None:
    ledger = client.app.state.runtime.ledger  # type: ignore[attr-defined]
    assert not [s for s in families(client.get("/metrics").text)["framecast_webhook_deliveries"].samples]
    with ledger.transaction() as tx:
        for outcome in ("delivered", "delivered", "failed"):
            count_webhook_delivery(tx, outcome)
    fams = families(client.get("/metrics").text)
    assert (
        value(fams, "framecast_webhook_deliveries", "framecast_webhook_deliveries_total", outcome="delivered")
        == 2
    )
    assert (
        value(fams, "framecast_webhook_deliveries", "framecast_webhook_deliveries_total", outcome="failed")
        == 1
    )


def test_webhook_outcomes_are_counted_by_the_transactions_that_record_them(
    make_client: ClientFactory,
) -> None:
    from framecast.services.metrics import count_webhook_delivery

    client = make_client()
    ledger = client.app.state.runtime.ledger  # type: ignore[attr-defined]
    for outcome in ("delivered", "retried", "delivered"):
        with ledger.transaction() as tx:
            count_webhook_delivery(tx, outcome)
    fams = families(client.get("/metrics").text)
    name = "framecast_webhook_deliveries_total"
    assert value(fams, "framecast_webhook_deliveries", name, outcome="delivered") == 2
    assert value(fams, "framecast_webhook_deliveries", name, outcome="retried") == 1


def test_an_outage_leaves_the_process_series_and_says_which_source_is_down() -> None:
    from prometheus_client import generate_latest
    from tests.fakes import FakeJobQueue

    from framecast.domain.errors import Unavailable
    from framecast.web.metrics import Metrics

    class DownLedger:
        def stats(self) -> Any:
            raise Unavailable("The database is not reachable.", code="database_down")

    queue = FakeJobQueue()
    queue.down = True
    fams = families(generate_latest(Metrics(DownLedger(), queue).registry).decode())
    assert value(fams, "framecast_metrics_source_up", source="ledger") == 0
    assert value(fams, "framecast_metrics_source_up", source="broker") == 0
    assert "framecast_projects_total" not in fams and "framecast_dead_letters" not in fams
    assert value(fams, "framecast_stream_connections", transport="websocket") == 0
