"""The result reaches the page over every transport, and through every fault the field reports describe."""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_harness import (
    PAGE_PATH,
    Console,
    Nginx,
    Server,
    TcpProxy,
    assert_contiguous,
    block_sse,
    block_ws,
    card,
    debug,
    submit,
    wait_running,
    wait_video,
)

pytestmark = pytest.mark.browser


def test_happy_path_over_sse(page: Any, console: Console, server: Server) -> None:
    posts: list[Any] = []
    page.on(
        "response",
        lambda r: posts.append(r) if r.request.method == "POST" and r.url.endswith("/api/projects") else None,
    )
    page.goto(server.url + PAGE_PATH)
    page.fill("#prompt", "A paper boat drifting down a rainy street")
    page.fill("#duration_s", "2")
    page.select_option("#resolution", "360p")
    page.select_option("#fps", "24")
    seed = page.input_value("#seed")
    assert seed.isdigit()
    page.dblclick("#generate")
    page.wait_for_selector("article.project")
    pid = page.get_attribute("article.project", "data-project-id")
    assert pid
    src = wait_video(page, pid)
    assert src.startswith(server.url + "/media/")
    # A double click makes one project: one card, and every POST (if two went out) answered the same id.
    assert page.locator("article.project").count() == 1
    assert {p.json()["id"] for p in posts} == {pid}
    # The chip names the transport; the console tells the product note's story.
    assert page.get_attribute(f"{card(pid)} .chip", "data-transport") == "sse"
    assert console.has(f"🔌 SSE connected for video project: {pid}")
    assert console.has("📡 Video SSE message:")
    assert console.has(f"🎬 ✅ Video completed via SSE: {server.snapshot(pid)['result']['url']}")
    assert_contiguous(debug(page, pid)["applied"], server.snapshot(pid)["last_seq"])
    assert debug(page, pid)["media"] == ["poster", "video"], (
        "the poster shows as soon as its file event arrives"
    )
    assert str(server.snapshot(pid)["options"]["seed"]) == seed
    # Delivery is confirmed, so the gallery shows no "not delivered" badge for it.
    page.wait_for_function(
        "id => !new URLSearchParams(location.search).get('projects')?.includes(id)", arg=pid, timeout=10_000
    )
    assert server.snapshot(pid)["delivered_at"]
    item = f'#gallery-list li[data-project-id="{pid}"]'
    page.wait_for_selector(item, timeout=10_000)
    page.click("#gallery-refresh")
    page.wait_for_selector(f'{item}[data-delivered="yes"]', timeout=10_000)
    # Inline play with seeking (the media endpoint answers byte ranges).
    page.click(f"{item} button.play")
    page.wait_for_function(
        """sel => { const v = document.querySelector(sel + ' video'); return v && v.readyState >= 1; }""",
        arg=item,
        timeout=15_000,
    )
    seeked = page.evaluate(
        """sel => new Promise(res => { const v = document.querySelector(sel + ' video'); v.pause();
            v.addEventListener('seeked', () => res(v.currentTime), {once: true}); v.currentTime = 1.0; })""",
        item,
    )
    assert seeked == pytest.approx(1.0, abs=0.2)
    assert not page.errors  # type: ignore[attr-defined]


def test_websocket_preference_is_remembered_and_used(page: Any, console: Console, server: Server) -> None:
    page.goto(server.url + PAGE_PATH)
    page.click("#settings-open")
    page.check("input[name=preference][value=websocket]")
    page.click("#settings-save")
    page.reload()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if r.resource_type == "eventsource" else None)
    pid = submit(page, "A lighthouse beam sweeping over fog")
    wait_video(page, pid)
    assert any(f"/api/projects/{pid}/ws" in u for u in sockets)
    assert not streams, "the WebSocket preference must not open SSE"
    assert page.get_attribute(f"{card(pid)} .chip", "data-transport") == "websocket"
    assert console.has(f"🔌 WebSocket connected for video project: {pid}")
    assert console.has("📡 Video WebSocket message:")
    assert console.has("🎬 ✅ Video completed via WebSocket:")
    assert_contiguous(debug(page, pid)["applied"], server.snapshot(pid)["last_seq"])


def test_sse_blocked_falls_back_to_polling(page: Any, console: Console, server: Server) -> None:
    block_sse(page)
    page.goto(server.url + PAGE_PATH + "?transport=sse")
    pid = submit(page, "Autumn leaves spiralling in the wind")
    wait_video(page, pid)
    assert page.get_attribute(f"{card(pid)} .chip", "data-transport") == "polling"
    reasons = [t["reason"] for t in debug(page, pid)["transports"]]
    assert any(r.startswith("SSE could not connect") and "polling every" in r for r in reasons), reasons
    assert "SSE could not connect" in (page.text_content(f"{card(pid)} .chip-reason") or "")
    assert console.has("📊 SSE failed to connect, starting polling as backup")
    assert console.has("📊 ✅ Video generation completed:")
    assert_contiguous(debug(page, pid)["applied"], server.snapshot(pid)["last_seq"])


def test_sse_and_websocket_blocked_fall_back_to_polling(page: Any, console: Console, server: Server) -> None:
    block_sse(page)
    block_ws(page)
    page.goto(server.url + PAGE_PATH)
    pid = submit(page, "A cat watching snow through a window")
    wait_video(page, pid)
    transports = [t["transport"] for t in debug(page, pid)["transports"]]
    assert transports.index("sse") < transports.index("websocket") < transports.index("polling")
    assert page.get_attribute(f"{card(pid)} .chip", "data-transport") == "polling"
    assert console.has("🔌 SSE failed to connect, trying WebSocket")
    assert console.has("📊 WebSocket failed to connect, starting polling as backup")
    assert_contiguous(debug(page, pid)["applied"], server.snapshot(pid)["last_seq"])


def test_silent_stream_behind_buffering_nginx_moves_on_within_the_timeout(
    page: Any, console: Console, server: Server, nginx: Nginx
) -> None:
    page.goto(nginx.url + PAGE_PATH + "?connect_timeout_ms=2000")
    pid = submit(page, "City lights blinking on at dusk")
    wait_video(page, pid, timeout_ms=60_000)
    history = debug(page, pid)["transports"]
    assert history[0]["transport"] == "sse"
    assert page.get_attribute(f"{card(pid)} .chip", "data-transport") != "sse"
    assert any("SSE silent for 2 s" in t["reason"] for t in history), history
    assert console.has("SSE not connected after 2s")
    assert_contiguous(debug(page, pid)["applied"], server.snapshot(pid)["last_seq"])


def test_stream_cut_mid_render_resumes_without_gaps_or_repeats(
    page: Any, console: Console, server: Server
) -> None:
    proxy = TcpProxy(server.port)
    try:
        # A generous connect timeout: this test is about resuming a cut stream, not about the fallback.
        page.goto(proxy.url + PAGE_PATH + "?connect_timeout_ms=30000")
        pid = submit(page, "Waves rolling onto a pebble beach", duration=4)
        wait_running(page, pid, min_percent=5)
        assert proxy.cut() >= 1
        wait_running(page, pid, min_percent=60)
        proxy.cut()
        wait_video(page, pid)
        d = debug(page, pid)
        assert_contiguous(d["applied"], server.snapshot(pid)["last_seq"])
        # Reconnected after the cuts (over SSE normally; under heavy load a slow first hello may have moved
        # the page on to WebSocket, which is just as good for this test: what matters is the resume).
        assert console.count(f"connected for video project: {pid}") >= 2, (console.dump(), d["transports"])
        assert any(t["state"] == "waiting" and "lost" in t["reason"] for t in d["transports"]), d[
            "transports"
        ]
    finally:
        proxy.close()


def test_check_for_results_reports_and_finds_the_video(page: Any, console: Console, server: Server) -> None:
    page.goto(server.url + PAGE_PATH)
    pid = submit(page, "A hot air balloon rising over fields", duration=4)
    wait_running(page, pid, min_percent=5)
    page.click(f"{card(pid)} button.check")
    page.wait_for_function(
        "sel => /Still (rendering, \\d+%|queued)/.test(document.querySelector(sel).textContent)",
        arg=f"{card(pid)} .check-result",
    )
    assert console.has(f"🔍 Force checking video results for project: {pid}")

    # Now every automatic path is broken: only the button can find the result.
    page2 = page.context.new_page()
    page2.on("console", console)
    page2.route(re.compile(r"/api/projects/[^/]+/events"), lambda route: route.abort())
    block_ws(page2)
    pid2 = server.create("A windmill turning slowly at sunset")["id"]
    page2.goto(f"{server.url}{PAGE_PATH}?projects={pid2}")
    page2.wait_for_selector(card(pid2))
    server.wait_terminal(pid2)
    page2.click(f"{card(pid2)} button.check")
    wait_video(page2, pid2, timeout_ms=10_000)
    assert (page2.text_content(f"{card(pid2)} .check-result") or "").startswith("Found it")
    url = server.snapshot(pid2)["result"]["url"]
    assert console.has(f"🔍 ✅ Video found manually: {url}")
