"""The page on a server that signs people in (FRAMECAST_AUTH=keys, and proxy): two people in one browser,
a wrong key, a revoked key, another origin trying to act with the signed-in person's cookie, a foreign Host,
and axe-core on the sign-in form. Everything runs against a real `framecast serve` and real Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from e2e_harness import (
    BASE_ENV,
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_PATH,
    Server,
    StaticSite,
    axe_violations,
    bearer,
    card,
    describe_violations,
    project_ids,
    started,
    submit,
    wait_video,
)

pytestmark = pytest.mark.browser

# A 1×1 PNG the server accepts as an upload: without the guard the attack's uploads would succeed.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
PROJECTS = "SELECT count(*) FROM projects"
UPLOADS = "SELECT count(*) FROM assets WHERE project_id IS NULL"


@pytest.fixture(scope="module")
def keys_server(needs_tools: None) -> Iterator[Server]:
    srv = Server(env={**BASE_ENV, "FRAMECAST_AUTH": "keys"}).start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def ana(keys_server: Server) -> str:
    return keys_server.make_key("ana")


@pytest.fixture(scope="module")
def bob(keys_server: Server) -> str:
    return keys_server.make_key("bob")


def sign_in(page: Any, key: str) -> None:
    page.wait_for_selector("#signin-form", state="visible")
    page.fill("#signin-key", key)
    page.click("#signin-submit")
    page.wait_for_selector("#identity", state="visible")
    page.wait_for_selector("#workspace", state="visible")


def sign_out(page: Any) -> None:
    page.click("#sign-out")
    page.wait_for_selector("#signin-form", state="visible")


def gallery_loaded(page: Any) -> None:
    page.wait_for_function(
        "() => !['', 'Loading…'].includes(document.getElementById('gallery-status').textContent)"
        " || document.querySelectorAll('#gallery-list li').length > 0",
        timeout=15_000,
    )


def stored(page: Any, owner: str | None) -> list[str]:
    entry = f"framecast.activeProjects.{owner}" if owner else "framecast.activeProjects"
    return list(page.evaluate("k => JSON.parse(localStorage.getItem(k) || '[]')", entry))


def server_errors(target: Any, base: str) -> list[str]:
    """Every 5xx the server answers to this page or context, collected as it happens."""
    seen: list[str] = []
    target.on(
        "response",
        lambda r: (
            seen.append(f"{r.status} {r.request.method} {r.url}")
            if r.url.startswith(base) and r.status >= 500
            else None
        ),
    )
    return seen


def cancel(srv: Server, project_id: str, key: str) -> None:
    httpx.post(f"{srv.url}/api/projects/{project_id}/cancel", headers=bearer(key), timeout=10)


# --- two people, one browser ------------------------------------------------------------------------------


def test_two_people_in_one_browser_see_only_their_own(
    page: Any, keys_server: Server, ana: str, bob: str
) -> None:
    fives = server_errors(page, keys_server.url)
    page.goto(keys_server.url + PAGE_PATH)
    page.wait_for_selector("#signin-form", state="visible")
    assert page.is_hidden("#workspace") and page.is_hidden("#gallery") and page.is_hidden("#identity")
    assert "framecast keys create --owner NAME" in (page.text_content("#signin-help") or "")

    sign_in(page, ana)
    assert page.text_content("#identity-owner") == "ana"
    assert page.is_visible("#sign-out")
    done = submit(page, "A lantern floating over a dark lake")
    wait_video(page, done)
    page.wait_for_selector(f"{card(done)}.done")
    page.wait_for_selector(f'#gallery-list li[data-project-id="{done}"]', timeout=15_000)
    # One of ana's still going when she leaves: the next person must not get it.
    active = submit(page, "A slow pan across a city at night", duration=6)
    try:
        assert active in page.url
        assert active in stored(page, "ana")

        sign_out(page)
        assert project_ids(page) == []
        assert "projects=" not in page.url
        assert page.locator("#gallery-list li").count() == 0
        assert page.input_value("#prompt") == "", "the next person does not find ana's prompt"
        assert page.input_value("#signin-key") == "", "the key does not stay in the page"
        assert "signed out" in (page.text_content("#signin-notice") or "")

        sign_in(page, bob)
        assert page.text_content("#identity-owner") == "bob"
        gallery_loaded(page)
        assert page.locator(f'#gallery-list li[data-project-id="{done}"]').count() == 0
        assert "No finished videos yet" in (page.text_content("#gallery-status") or "")
        assert project_ids(page) == []
        assert stored(page, "bob") == []
        page.reload()  # nor does a reload as bob re-attach anything of ana's
        page.wait_for_selector("#identity", state="visible")
        gallery_loaded(page)
        assert project_ids(page) == []
        assert "projects=" not in page.url

        # Ana is back: her project that was still going re-attaches, her video is in her gallery.
        sign_out(page)
        sign_in(page, ana)
        page.wait_for_selector(card(active))
        page.wait_for_selector(f'#gallery-list li[data-project-id="{done}"]', timeout=15_000)
    finally:
        cancel(keys_server, active, ana)
    assert not fives, fives
    assert not page.errors, page.errors


def test_a_wrong_key_says_so_and_nothing_fails(page: Any, keys_server: Server) -> None:
    fives = server_errors(page, keys_server.url)
    page.goto(keys_server.url + PAGE_PATH)
    page.wait_for_selector("#signin-form", state="visible")
    for wrong in ["fc_00000000000000000000_" + "A" * 43, "not a key at all"]:
        page.fill("#signin-key", wrong)
        page.click("#signin-submit")
        page.wait_for_selector("#signin-error", state="visible")
        assert "not valid" in (page.text_content("#signin-error") or "")
        assert page.get_attribute("#signin-key", "aria-invalid") == "true"
        assert page.evaluate("document.activeElement.id") == "signin-key"
        page.wait_for_selector("#signin-submit:not([disabled])")
    page.fill("#signin-key", "x" * 300)  # longer than any key: the server's 422, said plainly
    page.click("#signin-submit")
    page.wait_for_function(
        "() => document.getElementById('signin-error').textContent.includes('not an API key')"
    )
    page.fill("#signin-key", "")
    page.click("#signin-submit")
    page.wait_for_function(
        "() => document.getElementById('signin-error').textContent.includes('Paste your API key')"
    )
    assert page.is_hidden("#workspace") and page.is_hidden("#identity")
    assert not fives, fives
    assert not page.errors, page.errors


def test_a_revoked_key_brings_the_sign_in_back_and_keeps_the_active_projects(
    page: Any, keys_server: Server
) -> None:
    key = keys_server.make_key("cara")
    page.goto(keys_server.url + PAGE_PATH)
    sign_in(page, key)
    pid = submit(page, "Waves rolling onto a pebble beach", duration=6)
    again = ""
    try:
        keys_server.revoke_key(key)
        # The next call meets 401 (a checked session is believed for up to 5 s).
        deadline = time.monotonic() + 20
        while page.is_hidden("#signin-form") and time.monotonic() < deadline:
            page.evaluate("document.getElementById('gallery-refresh').click()")
            page.wait_for_timeout(500)
        assert page.is_visible("#signin-form"), "a 401 did not bring the sign-in back"
        assert "session ended" in (page.text_content("#signin-notice") or "")
        assert project_ids(page) == []
        assert pid in page.url and pid in stored(page, "cara"), "the active project was forgotten"
        again = keys_server.make_key("cara")
        sign_in(page, again)
        page.wait_for_selector(card(pid))
    finally:
        if again:
            cancel(keys_server, pid, again)
    assert not page.errors, page.errors


# --- another origin in the same browser ------------------------------------------------------------------

ATTACK_PAGE = """<!doctype html><meta charset="utf-8"><title>Not Framecast</title>
<script>
const q = new URLSearchParams(location.search);
const fc = q.get("fc"), running = q.get("running"), done = q.get("done");
const png = () => new Blob([Uint8Array.from(atob(q.get("png")), (c) => c.charCodeAt(0))], {type: "image/png"});
const upload = () => { const fd = new FormData(); fd.append("file", png(), "x.png"); return fd; };
const body = JSON.stringify({prompt: "made by another site", duration_s: 1, resolution: "360p"});
const results = {};
async function attempt(name, go) {
  try {
    const r = await go();
    results[name] = r.type === "opaque" ? "opaque" : `readable ${r.status}`;
  } catch (e) {
    results[name] = "blocked";
  }
}
const send = {method: "POST", credentials: "include"};
(async () => {
  await attempt("create json", () => fetch(`${fc}/api/projects`, {...send, headers: {"Content-Type": "application/json"}, body}));
  await attempt("create text/plain", () => fetch(`${fc}/api/projects`, {...send, headers: {"Content-Type": "text/plain"}, body}));
  await attempt("create text/plain no-cors", () => fetch(`${fc}/api/projects`, {...send, mode: "no-cors", headers: {"Content-Type": "text/plain"}, body}));
  await attempt("upload multipart", () => fetch(`${fc}/api/uploads`, {...send, body: upload()}));
  await attempt("upload multipart no-cors", () => fetch(`${fc}/api/uploads`, {...send, mode: "no-cors", body: upload()}));
  await attempt("cancel no-cors", () => fetch(`${fc}/api/projects/${running}/cancel`, {...send, mode: "no-cors"}));
  await attempt("sign in as someone else no-cors", () => fetch(`${fc}/api/session`, {...send, mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: JSON.stringify({key: "fc_x"})}));
  await attempt("delete", () => fetch(`${fc}/api/projects/${done}`, {method: "DELETE", credentials: "include"}));
  await attempt("read the gallery", () => fetch(`${fc}/api/videos`, {credentials: "include"}));
  results["websocket"] = await new Promise((resolve) => {
    let messages = 0;
    const ws = new WebSocket(`${fc.replace(/^http/, "ws")}/api/projects/${running}/ws?after=0`);
    ws.onmessage = () => messages++;
    ws.onclose = (e) => resolve({messages, code: e.code});
    setTimeout(() => resolve({messages, code: "timeout"}), 5000);
  });
  window.attackResults = results;
})();
</script>
"""

# One auto-submitted <form method=POST> per visit (?which=...): the classic cross-site request forgery.
FORM_PAGE = """<!doctype html><meta charset="utf-8"><title>Win a prize</title>
<form id="f" method="post"></form>
<script>
const q = new URLSearchParams(location.search);
const fc = q.get("fc"), running = q.get("running");
const f = document.getElementById("f");
const field = (name, value) => {
  const i = document.createElement("input");
  i.type = "hidden"; i.name = name; i.value = value; f.append(i);
};
switch (q.get("which")) {
  case "create-urlencoded":
    f.action = `${fc}/api/projects`; field("prompt", "made by a form"); field("duration_s", "1"); break;
  case "create-text-plain":  // the body reads as JSON: {"prompt":"made by a form","x":"="}
    f.action = `${fc}/api/projects`; f.enctype = "text/plain"; field('{"prompt":"made by a form","x":"', '"}'); break;
  case "upload-multipart": {
    f.action = `${fc}/api/uploads`; f.enctype = "multipart/form-data";
    const file = document.createElement("input");
    file.type = "file"; file.name = "file";
    const dt = new DataTransfer();
    const bytes = Uint8Array.from(atob(q.get("png")), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], "x.png", {type: "image/png"}));
    file.files = dt.files; f.append(file); break;
  }
  case "cancel-urlencoded":
    f.action = `${fc}/api/projects/${running}/cancel`; field("why", "because"); break;
}
f.submit();
</script>
"""
FORMS = ["create-urlencoded", "create-text-plain", "upload-multipart", "cancel-urlencoded"]


@pytest.fixture(scope="module")
def attack_site() -> Iterator[StaticSite]:
    with started(StaticSite()) as site:
        (site.root / "attack.html").write_text(ATTACK_PAGE, encoding="utf-8")
        (site.root / "form.html").write_text(FORM_PAGE, encoding="utf-8")
        yield site


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=["same-site-other-port", "cross-site"])
def test_another_origin_cannot_act_with_the_signed_in_cookie(
    context: Any, keys_server: Server, ana: str, attack_site: StaticSite, host: str
) -> None:
    fc = keys_server.url
    page = context.new_page()
    page.goto(fc + PAGE_PATH)
    sign_in(page, ana)  # the browser now holds ana's session cookie (HttpOnly, SameSite=Lax)
    finished = keys_server.create("A finished video of ana's", key=ana)["id"]
    keys_server.wait_terminal(finished, key=ana)
    running = keys_server.create("A video of ana's still rendering", key=ana, duration_s=8)["id"]
    projects, uploads = keys_server.count(PROJECTS), keys_server.count(UPLOADS)
    try:
        attack = context.new_page()
        seen: list[tuple[str, str, int]] = []
        attack.on(
            "response",
            lambda r: seen.append((r.request.method, r.url, r.status)) if r.url.startswith(fc) else None,
        )
        query = f"fc={fc}&running={running}&done={finished}&png={PNG_B64.replace('+', '%2B')}"
        attack.goto(f"{attack_site.url(host)}/attack.html?{query}")
        attack.wait_for_function("() => window.attackResults", timeout=30_000)
        results = attack.evaluate("() => window.attackResults")
        # What the attacking page's script got back: nothing readable, ever.
        assert results["create json"] == "blocked"  # preflight refused: never sent
        assert results["create text/plain"] == "blocked"  # sent, refused, and unreadable without CORS
        assert results["upload multipart"] == "blocked"
        assert results["delete"] == "blocked"  # DELETE needs a preflight: never sent
        assert results["read the gallery"] == "blocked", "another origin read the signed-in person's gallery"
        for opaque in ["create text/plain no-cors", "upload multipart no-cors", "cancel no-cors"]:
            assert results[opaque] == "opaque", (opaque, results[opaque])
        assert results["websocket"]["messages"] == 0, results["websocket"]
        assert results["websocket"]["code"] != "timeout", results["websocket"]

        for which in FORMS:
            with attack.expect_response(
                lambda r: r.url.startswith(fc) and r.request.method == "POST"
            ) as info:
                attack.goto(f"{attack_site.url(host)}/form.html?which={which}&{query}")
            assert info.value.status == 403, (which, info.value.status)
            attack.wait_for_url(f"{fc}/**")
            assert "cross_site_request" in (attack.text_content("body") or ""), which

        # Every change that reached the server was refused with 403 (a preflight, where the browser shows
        # one, is not a change; the one GET was answered, and the browser kept it from the script).
        changes = [(m, u, s) for m, u, s in seen if m not in ("GET", "HEAD", "OPTIONS")]
        assert changes, seen
        assert {s for _, _, s in changes} == {403}, changes
        assert len(changes) >= 4 + len(FORMS), changes

        # On the server, with ana's key: nothing made, nothing cancelled, nothing deleted, nothing uploaded.
        assert keys_server.count(PROJECTS) == projects
        assert keys_server.count(UPLOADS) == uploads
        assert keys_server.snapshot(finished, key=ana)["status"] == "completed"
        assert keys_server.snapshot(running, key=ana)["status"] in ("queued", "running")
        events = keys_server.events(running, key=ana)
        assert not [e for e in events if e["data"].get("status") == "cancelled"], events
        gallery = httpx.get(f"{fc}/api/videos", headers=bearer(ana), timeout=10).json()["items"]
        assert finished in [item["project_id"] for item in gallery]
        # And ana is still ana on her own page (no login forgery swapped her session).
        assert page.evaluate("fetch('/api/session').then(r => r.json())")["owner"] == "ana"
    finally:
        cancel(keys_server, running, ana)


# --- a foreign Host ---------------------------------------------------------------------------------------


def test_a_foreign_host_header_gets_421(keys_server: Server, ana: str) -> None:
    port = keys_server.port
    for host in ["evil.example", f"evil.example:{port}"]:
        for method, path in [("GET", PAGE_PATH), ("GET", "/api/session"), ("POST", "/api/projects")]:
            r = httpx.request(
                method,
                keys_server.url + path,
                headers={"Host": host, **bearer(ana)},
                json={"prompt": "rebound"} if method == "POST" else None,
                timeout=10,
            )
            assert r.status_code == 421, (host, method, path, r.status_code)
            assert r.json()["code"] == "host_not_allowed"
    assert httpx.get(keys_server.url + "/api/session", timeout=10).status_code == 200


def test_a_rebound_name_in_chromium_gets_421(browser: Any, keys_server: Server) -> None:
    """DNS rebinding as a browser does it: evil.example resolves to the server, the page's Host says so."""
    other = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"]
    )
    try:
        page = other.new_page()
        response = page.goto(f"http://evil.example:{keys_server.port}{PAGE_PATH}")
        assert response is not None and response.status == 421
        assert "host_not_allowed" in (page.text_content("body") or "")
    finally:
        other.close()


# --- accessibility ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["1280px", "390px"])
def test_no_axe_violations_on_the_sign_in(
    browser: Any, keys_server: Server, bob: str, axe_source: str, width: int, height: int
) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = ctx.new_page()
        page.goto(keys_server.url + PAGE_PATH)
        page.wait_for_selector("#signin-form", state="visible")
        found: dict[str, list[dict[str, Any]]] = {"sign-in form": axe_violations(page, axe_source)}
        page.fill("#signin-key", "fc_wrong")
        page.click("#signin-submit")
        page.wait_for_selector("#signin-error", state="visible")
        found["wrong key"] = axe_violations(page, axe_source)
        sign_in(page, bob)
        gallery_loaded(page)
        found["signed in"] = axe_violations(page, axe_source)
        sign_out(page)
        found["signed out"] = axe_violations(page, axe_source)
    finally:
        ctx.close()
    report = "\n".join(f"{state}:\n{describe_violations(v)}" for state, v in found.items() if v)
    assert not report, f"axe-core at {width} px:\n{report}"


# --- none and proxy mode -----------------------------------------------------------------------------------


def test_none_mode_shows_nothing_about_signing_in(page: Any, server: Server) -> None:
    page.goto(server.url + PAGE_PATH)
    page.wait_for_function("() => window.framecast.session().phase === 'signed-in'")
    gallery_loaded(page)
    assert page.is_visible("#workspace") and page.is_visible("#gallery")
    assert page.is_hidden("#signin") and page.is_hidden("#identity")


def test_proxy_mode_names_the_person_and_leaves_sign_out_to_the_proxy(
    browser: Any, needs_tools: None
) -> None:
    env = {**BASE_ENV, "FRAMECAST_AUTH": "proxy", "FRAMECAST_TRUSTED_PROXIES": "127.0.0.1/32"}
    with started(Server(env=env)) as srv:
        named = browser.new_context(extra_http_headers={"X-Forwarded-User": "pat@example.org"})
        anonymous = browser.new_context()
        try:
            page = named.new_page()
            page.goto(srv.url + PAGE_PATH)
            page.wait_for_selector("#identity", state="visible")
            assert page.text_content("#identity-owner") == "pat@example.org"
            assert page.is_hidden("#sign-out") and page.is_hidden("#signin")
            gallery_loaded(page)
            nobody = anonymous.new_page()
            nobody.goto(srv.url + PAGE_PATH)
            nobody.wait_for_selector("#signin", state="visible")
            assert nobody.is_hidden("#signin-form"), "the proxy signs people in, not a key form"
            assert "reload" in (nobody.text_content("#signin-notice") or "").lower()
            assert nobody.is_hidden("#workspace")
        finally:
            named.close()
            anonymous.close()
