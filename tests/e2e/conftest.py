"""Fixtures for the browser tests: real servers, a real nginx, real Chromium (never `playwright install`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import AXE_JS, BASE_ENV, CHROMIUM, CHROMIUM_ARGS, FRAMECAST, Console, Nginx, Server
from tests.conftest import IN_CI

# `make test` installs Playwright, Chromium, nginx and axe-core, so in CI a missing tool is a failure,
# not a skip.
if IN_CI:
    import playwright.sync_api as playwright_sync
else:
    playwright_sync = pytest.importorskip("playwright.sync_api")


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what}; `make test` should have installed it")
    pytest.skip(what)


@pytest.fixture(scope="session")
def needs_tools() -> None:
    if not Path(CHROMIUM).exists():
        _missing("Chromium is not installed at /usr/bin/chromium")
    if not FRAMECAST.exists():
        _missing("the framecast command is not installed in .venv")


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser build, installed by `make test` (`npm ci`) from the pinned package-lock.json."""
    if not AXE_JS.exists():
        _missing(f"axe-core is not installed at {AXE_JS.relative_to(AXE_JS.parents[2])} (run `npm ci`)")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def server(needs_tools: None) -> Iterator[Server]:
    srv = Server(env=dict(BASE_ENV)).start()
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def failing_server(needs_tools: None) -> Iterator[Server]:
    srv = Server(env={**BASE_ENV, "FRAMECAST_FAIL_TASKS": "compose:*"}).start()
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def nginx(server: Server) -> Iterator[Nginx]:
    if shutil.which("nginx") is None:
        _missing("nginx is not installed")
    proxy = Nginx(upstream=server.port).start()
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def browser(needs_tools: None) -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(context: Any, console: Console) -> Any:
    pg = context.new_page()
    pg.on("console", console)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors  # type: ignore[attr-defined]
    return pg
