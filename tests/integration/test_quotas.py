"""Quotas on a real server with real workers: the request over the limit gets 429 with Retry-After and a
message a person can act on; every accepted project completes; the gallery says when videos expire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, wait_terminal

CLIP = {"duration_s": 1, "resolution": "360p", "fps": 24}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "FRAMECAST_QUOTA_ACTIVE": "2",
        "FRAMECAST_QUOTA_SECONDS_PER_DAY": "3",
        "FRAMECAST_RETENTION_DAYS": "7",
    }
    srv = Server(tmp_path_factory.mktemp("quota") / "data", workers=2, env=env).start()
    yield srv
    srv.stop()


def test_over_the_limit_is_429_and_the_accepted_ones_complete(limited: Server, tmp_path: Path) -> None:
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        accepted = [client.post("/api/projects", json={"prompt": f"Clip {i}", **CLIP}) for i in range(2)]
        assert [r.status_code for r in accepted] == [201, 201]
        refused = client.post("/api/projects", json={"prompt": "One too many", **CLIP})
        assert refused.status_code == 429, refused.text
        body = refused.json()
        assert body["code"] == "quota_exceeded" and body["limit"] == "active"
        assert "2 projects queued or running" in body["message"]
        assert int(refused.headers["retry-after"]) > 0
        for response in accepted:
            assert wait_terminal(client, response.json()["id"])["status"] == "completed"
        # 2 s used of 3 a day: one more 1 s clip fits, a 2 s one does not (and says when room comes back).
        assert client.post("/api/projects", json={"prompt": "Fits", **CLIP}).status_code == 201
        over = client.post("/api/projects", json={"prompt": "Too long", **{**CLIP, "duration_s": 2}})
        assert over.status_code == 429 and over.json()["limit"] == "seconds_per_day"
        assert int(over.headers["retry-after"]) > 3600
        gallery = client.get("/api/videos").json()["items"]
        assert len(gallery) >= 2 and all(item["expires_at"] for item in gallery)
