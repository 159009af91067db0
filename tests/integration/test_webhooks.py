"""Webhooks end to end: a real ``framecast serve`` sends to a real receiver on 127.0.0.1
(FRAMECAST_WEBHOOK_ALLOW_PRIVATE=true), and every delivery is checked with standardwebhooks.

State changes are driven through the API (create, then cancel: ``project.cancelled``) where rendering is
beside the point; one test renders for real to see ``started``, ``file`` and ``completed`` through a
worker that is killed mid-render. The retry schedule runs at FRAMECAST_WEBHOOK_RETRY_SCALE, so its 5 s,
30 s... take a fraction of that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from framecast.client.webhooks import verify
from tests.support.receiver import Received, Receiver, running_receiver
from tests.support.server import Server, create, wait_chunk_progress, wait_for, wait_terminal

FAST = {
    "FRAMECAST_WEBHOOK_ALLOW_PRIVATE": "true",
    "FRAMECAST_WEBHOOK_RETRY_SCALE": "0.01",  # 50 ms, 300 ms, 1.2 s, ...
    "FRAMECAST_WEBHOOK_POLL_INTERVAL_S": "0.05",
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """API only (no workers): projects stay queued until the test cancels them. No
    FRAMECAST_WEBHOOK_SECRET: the service makes its own, and ``framecast webhooks secret`` tells it."""
    srv = Server(tmp_path_factory.mktemp("webhooks") / "data", workers=0, env=FAST).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def service_secret(server: Server) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "framecast", "webhooks", "secret", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    secret = out.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and "ledger" in out.stderr
    return secret


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def _cancelled_project(client: httpx.Client, **body: Any) -> str:
    project = create(client, prompt="A lighthouse at dusk", duration_s=2, resolution="360p", **body)
    assert client.post(f"/api/projects/{project['id']}/cancel").status_code == 200
    return str(project["id"])


def _deliveries(client: httpx.Client, project_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/projects/{project_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_receiver_that_fails_twice_gets_the_event_three_times_under_one_webhook_id(
    client: httpx.Client, receiver: Receiver, service_secret: str
) -> None:
    receiver.script("/flaky", [500, 502, 204])
    pid = _cancelled_project(client, webhook=receiver.url("/flaky"))
    got = receiver.wait_for("/flaky", 3)
    assert len({r.webhook_id for r in got}) == 1
    for request in got:
        payload = request.verify(service_secret)
        assert isinstance(payload, dict)
        assert payload["type"] == "project.cancelled"
        assert payload["data"]["id"] == pid and payload["data"]["status"] == "cancelled"
        assert payload["data"]["terminal"] is True
    assert len({r.body for r in got}) == 1  # the same bytes each time
    snapshot = client.get(f"/api/projects/{pid}").json()
    assert json.loads(got[0].body)["data"] == snapshot  # the snapshot, as GET returns it

    (item,) = wait_for(
        lambda: [d for d in _deliveries(client, pid) if d["state"] == "delivered"], timeout_s=10
    )
    assert item["webhook_id"] == got[0].webhook_id
    assert (item["type"], item["url"], item["next_attempt_at"]) == (
        "project.cancelled",
        receiver.url("/flaky"),
        None,
    )
    assert [a["status_code"] for a in item["attempts"]] == [500, 502, 204]
    assert [a["error"] for a in item["attempts"]] == [
        "HTTP 500 Internal Server Error",
        "HTTP 502 Bad Gateway",
        None,
    ]
    assert all(a["at"] and a["latency_ms"] is not None for a in item["attempts"])

    # Redeliver: once more, now, under the same webhook-id.
    again = client.post(f"/api/projects/{pid}/deliveries/{item['id']}/redeliver")
    assert again.status_code == 200 and again.json()["state"] == "pending"
    fourth = receiver.wait_for("/flaky", 4)[-1]
    assert fourth.webhook_id == item["webhook_id"]
    fourth.verify(service_secret)
    wait_for(lambda: len(_deliveries(client, pid)[0]["attempts"]) == 4, timeout_s=10)
    missing = client.post(f"/api/projects/{pid}/deliveries/dlv_00000000000000000000/redeliver")
    assert missing.status_code == 404 and missing.json()["code"] == "delivery_not_found"


def test_an_owner_endpoint_signs_with_its_own_secret_and_410_disables_it(
    client: httpx.Client, receiver: Receiver, service_secret: str
) -> None:
    made = client.post(
        "/api/webhooks", json={"url": receiver.url("/owner"), "events": ["cancelled"], "description": "CI"}
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["cancelled"]
    listed = client.get("/api/webhooks").json()["items"]
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]

    first = _cancelled_project(client)
    (request,) = receiver.wait_for("/owner", 1)
    assert request.verify(endpoint["secret"])["data"]["id"] == first  # type: ignore[index]
    with pytest.raises(WebhookVerificationError):
        request.verify(service_secret)  # not the service's: this endpoint's own
    with pytest.raises(WebhookVerificationError):
        verify(request.body, request.headers, service_secret)
    # A receiver rotating secrets accepts either.
    assert verify(request.body, request.headers, [service_secret, endpoint["secret"]]).project_id == first

    receiver.script("/owner", [410])
    second = _cancelled_project(client)
    receiver.wait_for("/owner", 2)
    wait_for(lambda: client.get("/api/webhooks").json()["items"][0]["disabled_at"], timeout_s=10)
    (gone,) = _deliveries(client, second)
    assert gone["state"] == "failed" and gone["attempts"][-1]["status_code"] == 410
    third = _cancelled_project(client)
    time.sleep(0.5)  # ten sender rounds
    assert len(receiver.at("/owner")) == 2 and _deliveries(client, third) == []
    refused = client.post(f"/api/projects/{second}/deliveries/{gone['id']}/redeliver")
    assert refused.status_code == 409 and refused.json()["code"] == "webhook_disabled"
    assert client.delete(f"/api/webhooks/{endpoint['id']}").status_code == 204
    assert client.get("/api/webhooks").json()["items"] == []
    assert client.delete(f"/api/webhooks/{endpoint['id']}").status_code == 404


def test_a_410_stops_a_projects_own_webhook(client: httpx.Client, receiver: Receiver) -> None:
    receiver.script("/gone", [410])
    pid = _cancelled_project(client, webhook=receiver.url("/gone"), webhook_events=["cancelled"])
    receiver.wait_for("/gone", 1)
    (item,) = wait_for(lambda: [d for d in _deliveries(client, pid) if d["state"] == "failed"], timeout_s=10)
    assert len(item["attempts"]) == 1 and item["next_attempt_at"] is None


def test_deliveries_survive_a_sigkill_of_the_api_mid_schedule(tmp_path: Path, receiver: Receiver) -> None:
    env = {**FAST, "FRAMECAST_WEBHOOK_RETRY_SCALE": "0.1"}  # 0.5 s, 3 s, 12 s ...
    receiver.script("/crash", [500])
    srv = Server(tmp_path / "data", workers=0, env=env).start()
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        pid = _cancelled_project(client, webhook=receiver.url("/crash"))
        before = receiver.wait_for("/crash", 2)
        # The second failure is recorded, the third attempt is due in ~3 s: kill the API now.
        wait_for(lambda: len(_deliveries(client, pid)[0]["attempts"]) == 2, timeout_s=10)
    srv.stop(signal.SIGKILL)
    receiver.script("/crash", [204])
    again = Server(tmp_path / "data", workers=0, env=env).start()
    try:
        with httpx.Client(base_url=again.url, timeout=30) as client:
            after = receiver.wait_for("/crash", 3, timeout_s=30)[-1]
            assert after.webhook_id == before[0].webhook_id == before[1].webhook_id
            secret = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "framecast",
                    "webhooks",
                    "secret",
                    "--data-dir",
                    str(tmp_path / "data"),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout.split()[-1]
            assert after.verify(secret)["type"] == "project.cancelled"  # type: ignore[index]
            (item,) = wait_for(
                lambda: [d for d in _deliveries(client, pid) if d["state"] == "delivered"], timeout_s=10
            )
            assert [a["status_code"] for a in item["attempts"]] == [500, 500, 204]
    finally:
        again.stop()


def test_a_real_render_sends_started_file_and_completed_through_a_worker_sigkill(
    tmp_path: Path, receiver: Receiver
) -> None:
    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="  # 32 bytes
    env = {
        **FAST,
        "FRAMECAST_WEBHOOK_SECRET": secret,
        "FRAMECAST_DEBUG_FRAME_DELAY_MS": "40",
        "FRAMECAST_CHUNK_SECONDS": "10",
    }
    srv = Server(tmp_path / "data", workers=1, env=env).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            events = ["started", "file", "completed", "failed", "cancelled"]
            project = create(
                client,
                prompt="A boat on a calm lake",
                duration_s=2,
                resolution="360p",
                fps=24,
                webhook=receiver.url("/render"),
                webhook_events=events,
            )
            wait_chunk_progress(client, project["id"], above=0.1)
            (worker,) = srv.worker_pids()
            os.kill(worker, signal.SIGKILL)  # its task runs again; the webhooks of what committed stand
            snap = wait_terminal(client, project["id"], timeout_s=120)
            assert snap["status"] == "completed", snap
            wait_for(
                lambda: any(json.loads(r.body)["type"] == "project.completed" for r in receiver.at("/render"))
            )
            got = receiver.at("/render")
            payloads = [r.verify(secret) for r in got]
            # The SDK's helper agrees with standardwebhooks, and types what it verified.
            events = [verify(r.body, r.headers, secret) for r in got]
            assert [(e.id, e.type, e.data) for e in events] == [
                (r.webhook_id, p["type"], p["data"])  # type: ignore[index]
                for r, p in zip(got, payloads, strict=True)
            ]
            assert {e.project_id for e in events} == {project["id"]}
            types = [p["type"] for p in payloads]  # type: ignore[index]
            assert types.count("project.started") == 1 and types.count("project.completed") == 1
            assert types.count("project.file") >= 2  # the poster and the video at least
            assert len({r.webhook_id for r in got}) == len(got)  # one webhook-id per event
            by_type = {p["type"]: p for p in payloads}  # type: ignore[index]
            assert by_type["project.started"]["data"]["status"] == "running"
            assert by_type["project.completed"]["data"]["result"]["url"] == snap["result"]["url"]
            files = [p["data"]["file"]["kind"] for p in payloads if p["type"] == "project.file"]  # type: ignore[index]
            assert "video" in files
            assert len(_deliveries(client, project["id"])) == len(got)
    finally:
        srv.stop()


# -- rotating secrets ------------------------------------------------------------------------------------


def _framecast(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framecast", *args], capture_output=True, text=True, timeout=60, check=True
    )


def _accepts(request: Received, secret: str) -> bool:
    """Whether a receiver that knows only ``secret`` accepts ``request``, by standardwebhooks and by the
    SDK's helper (which must agree)."""
    try:
        request.verify(secret)
    except WebhookVerificationError:
        with pytest.raises(WebhookVerificationError):
            verify(request.body, request.headers, secret)
        return False
    assert verify(request.body, request.headers, secret).id == request.webhook_id
    return True


def _wait_past(iso_time: str) -> None:
    """Sleep until the server's ``iso_time`` has passed (a grace of a second or so)."""
    left = (datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp() - time.time()) + 0.1
    assert left < 3
    time.sleep(max(0.0, left))


def test_rotating_an_endpoints_secret_signs_with_both_for_the_grace_then_with_the_new_only(
    client: httpx.Client, receiver: Receiver
) -> None:
    made = client.post("/api/webhooks", json={"url": receiver.url("/rotate"), "events": ["cancelled"]})
    assert made.status_code == 201, made.text
    endpoint = made.json()
    old = endpoint["secret"]
    try:
        first = _cancelled_project(client)
        (before,) = receiver.wait_for("/rotate", 1)
        assert _accepts(before, old)

        rotated = client.post(f"/api/webhooks/{endpoint['id']}/rotate")
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new.startswith("whsec_") and new != old and rotated.json()["previous_secret_until"]
        _cancelled_project(client)
        during = receiver.wait_for("/rotate", 2)[-1]
        assert len(during.headers["webhook-signature"].split()) == 2
        assert _accepts(during, old) and _accepts(during, new)  # receivers on either side of the switch

        # A delivery made before the rotation, sent again: the secrets of now, the same webhook-id.
        (item,) = _deliveries(client, first)
        assert client.post(f"/api/projects/{first}/deliveries/{item['id']}/redeliver").status_code == 200
        again = receiver.wait_for("/rotate", 3)[-1]
        assert again.webhook_id == before.webhook_id == item["webhook_id"]
        assert _accepts(again, old) and _accepts(again, new)

        # A short grace, then past it: only the newest verifies.
        short = client.post(f"/api/webhooks/{endpoint['id']}/rotate", json={"grace_s": 1}).json()
        newest = short["secret"]
        _wait_past(short["previous_secret_until"])
        _cancelled_project(client)
        after = receiver.wait_for("/rotate", 4)[-1]
        assert _accepts(after, newest)
        assert not _accepts(after, new) and not _accepts(after, old)
        assert len(after.headers["webhook-signature"].split()) == 1

        # No grace: the old secret stops at once.
        at_once = client.post(f"/api/webhooks/{endpoint['id']}/rotate", json={"grace_s": 0}).json()
        assert at_once["previous_secret_until"] is None
        _cancelled_project(client)
        last = receiver.wait_for("/rotate", 5)[-1]
        assert _accepts(last, at_once["secret"]) and not _accepts(last, newest)
        missing = client.post("/api/webhooks/whk_00000000000000000000/rotate")
        assert missing.status_code == 404 and missing.json()["code"] == "webhook_not_found"
    finally:
        assert client.delete(f"/api/webhooks/{endpoint['id']}").status_code == 204


def test_the_service_secret_signs_with_its_previous_one_while_that_is_set(
    tmp_path: Path, receiver: Receiver
) -> None:
    new = "whsec_" + "bmV3LW5ldy1uZXctbmV3LW5ldy1uZXctbmV3LW5ldzE="
    old = "whsec_" + "b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQtb2xkLW9sZDE="
    env = {**FAST, "FRAMECAST_WEBHOOK_SECRET": new, "FRAMECAST_WEBHOOK_SECRET_PREVIOUS": old}
    srv = Server(tmp_path / "data", workers=0, env=env).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            _cancelled_project(client, webhook=receiver.url("/service-env"))
            (request,) = receiver.wait_for("/service-env", 1)
            assert _accepts(request, new) and _accepts(request, old)
    finally:
        srv.stop()
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "framecast",
            "webhooks",
            "rotate-secret",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FRAMECAST_WEBHOOK_SECRET": new},
    )
    assert refused.returncode == 1 and "FRAMECAST_WEBHOOK_SECRET_PREVIOUS" in refused.stderr


def test_rotate_secret_replaces_the_ledger_kept_one_and_keeps_the_old_for_its_grace(
    tmp_path: Path, receiver: Receiver
) -> None:
    data = str(tmp_path / "data")
    srv = Server(tmp_path / "data", workers=0, env=FAST).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            old = _framecast("webhooks", "secret", "--data-dir", data).stdout.split()[-1]
            out = _framecast("webhooks", "rotate-secret", "--data-dir", data)  # a day by default
            new = out.stdout.split()[-1]
            assert new.startswith("whsec_") and new != old and "until" in out.stderr
            assert _framecast("webhooks", "secret", "--data-dir", data).stdout.split()[-1] == new
            # The running serve reads it from the ledger: no restart.
            _cancelled_project(client, webhook=receiver.url("/service-ledger"))
            (during,) = receiver.wait_for("/service-ledger", 1)
            assert _accepts(during, old) and _accepts(during, new)

            _framecast("webhooks", "rotate-secret", "--grace-s", "0", "--data-dir", data)
            newest = _framecast("webhooks", "secret", "--data-dir", data).stdout.split()[-1]
            _cancelled_project(client, webhook=receiver.url("/service-ledger"))
            after = receiver.wait_for("/service-ledger", 2)[-1]
            assert _accepts(after, newest) and not _accepts(after, new) and not _accepts(after, old)
    finally:
        srv.stop()
