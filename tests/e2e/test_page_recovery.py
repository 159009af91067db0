"""The page recovers: a reload, a server restart, and many tabs sharing one connection."""

from __future__ import annotations

import signal
from typing import Any

import pytest
from e2e_harness import (
    BASE_ENV,
    PAGE_PATH,
    Console,
    Server,
    assert_contiguous,
    card,
    debug,
    submit,
    wait_running,
    wait_video,
)

pytestmark = pytest.mark.browser


def test_reload_mid_render_reattaches_from_snapshot_and_log(
    page: Any, console: Console, server: Server
) -> None:
    page.goto(server.url + PAGE_PATH)
    pid = submit(page, "Steam rising from a cup of coffee", duration=4)
    wait_running(page, pid, min_percent=10)
    assert pid in page.url
    page.reload()
    page.wait_for_selector(card(pid))
    wait_video(page, pid)
    applied = debug(page, pid)["applied"]
    assert_contiguous(applied, server.snapshot(pid)["last_seq"])
    # The reload re-attached mid-run: it drew the snapshot, then followed the log after it.
    assert applied[0] > 1


def test_url_opens_the_project_on_another_device(browser: Any, server: Server) -> None:
    pid = server.create("Fireflies in a dark forest")["id"]
    other = browser.new_context(viewport={"width": 390, "height": 844})  # a fresh profile: nothing stored
    try:
        pg = other.new_page()
        pg.goto(f"{server.url}{PAGE_PATH}?projects={pid}")
        wait_video(pg, pid)
    finally:
        other.close()


def test_server_restart_mid_render_and_the_page_recovers(browser: Any, needs_tools: None) -> None:
    srv = Server(env=dict(BASE_ENV)).start()
    ctx = browser.new_context()
    try:
        pg = ctx.new_page()
        console = Console()
        pg.on("console", console)
        pg.goto(srv.url + PAGE_PATH)
        pid = submit(pg, "Clouds racing over a mountain ridge", duration=4)
        wait_running(pg, pid, min_percent=10)
        srv.stop(signal.SIGKILL)
        pg.wait_for_function(
            "sel => document.querySelector(sel).dataset.state === 'waiting'", arg=f"{card(pid)} .chip"
        )
        srv.start()
        try:
            wait_video(pg, pid, timeout_ms=90_000)
        except Exception:
            print(console.dump())
            print(srv.log_tail())
            raise
        assert_contiguous(debug(pg, pid)["applied"], srv.snapshot(pid)["last_seq"])
    finally:
        ctx.close()
        srv.close()


@pytest.mark.parametrize("election", ["web-locks", "heartbeat"])
def test_seven_tabs_share_one_connection(context: Any, server: Server, election: str) -> None:
    if election == "heartbeat":
        # Plain http from another host has no Web Locks: the BroadcastChannel heartbeat election takes over.
        context.add_init_script("delete Navigator.prototype.locks")
    pid = server.create("A flock of starlings over a lake", duration_s=4)["id"]
    streams: list[str] = []
    context.on("request", lambda r: streams.append(r.url) if r.resource_type == "eventsource" else None)
    pages = []
    for _ in range(7):
        pg = context.new_page()
        pg.goto(f"{server.url}{PAGE_PATH}?projects={pid}")
        pages.append(pg)
    for pg in pages:
        wait_video(pg, pid)
    roles = [debug(pg, pid)["role"] for pg in pages]
    assert roles.count("leader") == 1, roles
    assert len(streams) == 1, streams
    # The seventh tab could still talk to the server: nothing exhausted the six connections per host.
    assert pages[-1].evaluate("fetch('/healthz').then(r => r.status)") == 200
