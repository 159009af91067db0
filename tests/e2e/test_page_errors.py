"""Errors a person can act on, and a prompt that is only ever text."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from e2e_harness import PAGE_PATH, Console, Server, card, debug, submit, wait_running, wait_video

pytestmark = pytest.mark.browser

HOSTILE = (
    '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    '<b>bold</b> & "quotes" </textarea><svg onload="window.__pwned=3">'
)


def test_html_laden_prompt_is_shown_as_text_everywhere(page: Any, server: Server) -> None:
    page.goto(server.url + PAGE_PATH)
    pid = submit(page, HOSTILE)
    title = f"{card(pid)} .project-prompt"
    assert page.text_content(title) == HOSTILE
    assert page.eval_on_selector(title, "el => el.children.length") == 0
    wait_video(page, pid)
    item = f'#gallery-list li[data-project-id="{pid}"]'
    page.wait_for_selector(item, timeout=15_000)
    assert page.text_content(f"{item} .gallery-prompt") == HOSTILE
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x], svg[onload], b").count() == 0
    assert not page.errors  # type: ignore[attr-defined]


def test_failed_project_shows_its_reason_and_offers_retry(
    page: Any, console: Console, failing_server: Server
) -> None:
    page.goto(failing_server.url + PAGE_PATH)
    pid = submit(page, "This render is going to fail")
    err = f"{card(pid)} .project-error"
    page.wait_for_selector(err, state="visible", timeout=60_000)
    snap = failing_server.snapshot(pid)
    assert snap["status"] == "failed"
    text = page.text_content(err) or ""
    assert "failed" in text
    reason = (snap.get("error") or {}).get("message") or ""
    assert reason and reason in text, (text, snap.get("error"))
    assert "undefined" not in text and "Traceback" not in text
    assert page.is_visible(f"{card(pid)} button.retry")
    assert page.is_hidden(f"{card(pid)} button.cancel")

    # With every automatic path broken, Check for Results finds the failure and says why.
    page2 = page.context.new_page()
    page2.route(re.compile(r"/api/projects/[^/]+/(events|ws)"), lambda route: route.abort())
    page2.route_web_socket(re.compile(r"/api/projects/[^/]+/ws"), lambda ws: ws.close())
    # compose fails only after the chunks rendered (60 ms a frame), so the page meets a running project
    pid2 = failing_server.create("This one fails too", duration_s=4)["id"]
    page2.goto(f"{failing_server.url}{PAGE_PATH}?projects={pid2}")
    page2.wait_for_selector(f"{card(pid2)} button.check")
    snap2 = failing_server.wait_terminal(pid2)
    page2.click(f"{card(pid2)} button.check")
    page2.wait_for_function(
        "sel => document.querySelector(sel).textContent.startsWith('Failed: ')",
        arg=f"{card(pid2)} .check-result",
    )
    assert snap2["error"]["message"] in (page2.text_content(f"{card(pid2)} .check-result") or "")
    assert page2.is_visible(f"{card(pid2)} .project-error")


def test_invalid_input_names_the_field(page: Any, server: Server) -> None:
    page.goto(server.url + PAGE_PATH)
    page.fill("#prompt", "Fine prompt")
    page.fill("#seed", "9999999999999999")  # a whole number, but above the server's 2**53 limit
    page.click("#generate")
    page.wait_for_selector("#seed[aria-invalid=true]", timeout=10_000)
    assert (page.text_content("#seed-error") or "").strip()
    assert (page.text_content("#form-error") or "").startswith("Seed")
    assert page.locator("article.project").count() == 0
    # The browser's own check names the field before any request.
    page.fill("#seed", "7")
    page.fill("#duration_s", "0")
    page.click("#generate")
    assert "Duration" in (page.text_content("#duration_s-error") or "")
    page.fill("#prompt", "x" * 2000)
    assert page.text_content("#prompt-count") == "2000 / 2000"


def test_server_unreachable_is_said_plainly(page: Any, server: Server) -> None:
    page.goto(server.url + PAGE_PATH)
    page.route("**/api/projects", lambda route: route.abort("connectionrefused"))
    page.fill("#prompt", "Anything")
    page.click("#generate")
    page.wait_for_selector("#form-error:not([hidden])")
    assert "Can't reach the Framecast server" in (page.text_content("#form-error") or "")


def test_cancel_then_retry_continues_the_same_log(page: Any, server: Server) -> None:
    page.goto(server.url + PAGE_PATH)
    pid = submit(page, "A train crossing a snowy bridge", duration=4)
    wait_running(page, pid, min_percent=5)
    page.click(f"{card(pid)} button.cancel")
    page.wait_for_selector(f'{card(pid)}[data-status="cancelled"]', timeout=15_000)
    assert page.is_visible(f"{card(pid)} button.retry")
    first_end = debug(page, pid)["lastSeq"]
    page.click(f"{card(pid)} button.retry")
    wait_video(page, pid)
    applied = debug(page, pid)["applied"]
    assert applied[-1] > first_end
    assert len(applied) == len(set(applied)) and applied == sorted(applied)
    assert applied[-1] == server.snapshot(pid)["last_seq"]


# The server's refusals that pass, as they travel on the wire (web/errors.py): the page says the server's
# sentence and when to try again. The route stands in for a server at its limit or in an outage.
QUOTA = {
    "status": 429,
    "code": "quota_exceeded",
    "limit": "active",
    "message": "You have 2 projects queued or running, the most allowed at once (FRAMECAST_QUOTA_ACTIVE=2); "
    "wait for one to finish or cancel one.",
}
OUTAGE = {
    "status": 503,
    "code": "service_unavailable",
    "cause": "database_down",
    "message": "The database cannot be used right now.",
}


@pytest.mark.parametrize(
    ("body", "retry_after", "expected"),
    [
        (QUOTA, "30", QUOTA["message"] + " Try again in 30 s."),
        (OUTAGE, "3", "The service is busy or recovering; try again in 3 s."),
    ],
    ids=["429-quota", "503-outage"],
)
def test_a_refusal_that_passes_says_when_to_try_again(
    page: Any, server: Server, body: dict[str, Any], retry_after: str, expected: str
) -> None:
    page.goto(server.url + PAGE_PATH)
    page.route(
        "**/api/projects",
        lambda route: (
            route.fulfill(
                status=body["status"],
                headers={"Retry-After": retry_after, "Content-Type": "application/problem+json"},
                body=json.dumps(body),
            )
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.fill("#prompt", "A kite over the dunes")
    page.click("#generate")
    page.wait_for_selector("#form-error:not([hidden])")
    assert page.text_content("#form-error") == expected
    assert page.locator("article.project").count() == 0
    assert page.is_enabled("#generate"), "the person can try again"
