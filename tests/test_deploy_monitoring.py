"""deploy/prometheus and deploy/grafana: valid files whose queries name only metrics /metrics exports, and
a dashboard with a panel for each family the contract lists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
CONTRACT = (
    "framecast_projects_total",
    "framecast_tasks_queued",
    "framecast_tasks_running",
    "framecast_task_duration_seconds",
    "framecast_render_frames_per_second",
    "framecast_stream_connections",
    "framecast_event_delivery_lag_seconds",
    "framecast_webhook_deliveries_total",
    "framecast_dead_letters",
)
EXPORTED = {*CONTRACT, "framecast_metrics_source_up"}
SUFFIXES = ("_bucket", "_sum", "_count")


def _names(expr: str) -> set[str]:
    return set(re.findall(r"\bframecast_[a-z_]+", expr))


def _known(name: str) -> bool:
    return name in EXPORTED or any(name.endswith(s) and name.removesuffix(s) in EXPORTED for s in SUFFIXES)


def test_the_dashboard_is_valid_json_with_a_panel_per_contract_metric() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "framecast.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = set().union(*(_names(e) for e in exprs))
    assert all(_known(name) for name in used), sorted(n for n in used if not _known(n))
    for metric in CONTRACT:
        assert any(n == metric or n.removesuffix("_bucket") == metric for n in used), metric
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for words in ("status", "queue", "p95", "frames per second", "stream", "p99", "webhook", "dead letters"):
        assert words in titles, words
    assert all(expr.count("(") == expr.count(")") for expr in exprs)


def test_the_prometheus_config_scrapes_metrics_with_a_bearer_token() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer" and job["authorization"]["credentials_file"]
    rules = yaml.safe_load((DEPLOY / "prometheus" / "framecast-alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert exprs and all(_known(n) for e in exprs for n in _names(e))
    assert all(expr.count("(") == expr.count(")") for expr in exprs)
    assert "framecast-alerts.yml" in config["rule_files"]
