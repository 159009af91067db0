"""/metrics in scale-out (Postgres ledger, Redis broker): two API replicas and two separate worker
processes. Both replicas answer the same ledger-derived numbers, counting the tasks of both workers;
the stream series are each replica's own."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.scale.conftest import Cluster
from tests.support.server import create, read_sse, wait_terminal

LEDGER_FAMILIES = (
    "framecast_projects_total",
    "framecast_tasks_queued",
    "framecast_tasks_running",
    "framecast_task_duration_seconds",
    "framecast_render_frames_per_second",
    "framecast_dead_letters",
)


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): float(s.value)
        for family in text_string_to_metric_families(response.text)
        if family.name in LEDGER_FAMILIES or family.name == "framecast_event_delivery_lag_seconds"
        for s in family.samples
    }


def test_both_replicas_report_the_same_ledger_numbers_counted_from_both_workers(cluster: Cluster) -> None:
    a, b = cluster.api(), cluster.api()
    cluster.worker()
    cluster.worker()
    with httpx.Client(base_url=a.url, timeout=30) as client:
        project = create(client, prompt="Counted once", duration_s=4, resolution="360p", fps=24)
        read_sse(client, project["id"])  # a stream on replica A only
        snapshot = wait_terminal(client, project["id"])
    assert snapshot["status"] == "completed"
    on_a, on_b = _scrape(a.url), _scrape(b.url)
    ledger_a = {k: v for k, v in on_a.items() if "delivery_lag" not in k[0]}
    ledger_b = {k: v for k, v in on_b.items() if "delivery_lag" not in k[0]}
    assert ledger_a == ledger_b  # the same answer from every replica: aggregate with max, not sum
    assert ledger_a[("framecast_projects_total", (("status", "completed"),))] == 1
    counted = sum(v for (name, _), v in ledger_a.items() if name == "framecast_task_duration_seconds_count")
    assert counted == len(snapshot["tasks"])
    assert ledger_a[("framecast_dead_letters", ())] == 0
    runs = [
        (cluster.tmp / f"worker{i}.log").read_text(errors="replace").count(f"of {project['id']}")
        for i in range(2)
    ]
    assert sum(runs) == len(snapshot["tasks"]) and all(runs), runs  # each worker ran some of them
    lag = ("framecast_event_delivery_lag_seconds_count", (("transport", "sse"),))
    assert on_a[lag] >= 1 and on_b[lag] == 0  # per replica: only A sent events on a stream
