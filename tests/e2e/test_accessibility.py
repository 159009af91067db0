"""axe-core finds nothing wrong with the page, on a desktop and on a phone, before and after a result."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_harness import (
    PAGE_PATH,
    Server,
    axe_violations,
    card,
    describe_violations,
    submit,
    wait_running,
    wait_video,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["1280px", "390px"])
def test_no_axe_violations_before_and_after_a_result(
    browser: Any, server: Server, axe_source: str, width: int, height: int
) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = ctx.new_page()
        page.goto(server.url + PAGE_PATH)
        page.wait_for_function("() => document.getElementById('gallery-status').textContent !== 'Loading…'")
        found: dict[str, list[dict[str, Any]]] = {"empty page": axe_violations(page, axe_source)}

        page.click("#settings-open")
        page.wait_for_selector("#settings[open]")
        found["settings dialog"] = axe_violations(page, axe_source)
        page.keyboard.press("Escape")
        page.wait_for_selector("#settings:not([open])", state="attached")

        pid = submit(page, "A red kite circling over a green hill", duration=4)
        wait_running(page, pid)
        found["rendering"] = axe_violations(page, axe_source)

        wait_video(page, pid)
        page.wait_for_selector(f"{card(pid)}.done")
        page.wait_for_selector(f'#gallery-list li[data-project-id="{pid}"]', timeout=15_000)
        found["result shown"] = axe_violations(page, axe_source)
    finally:
        ctx.close()
    report = "\n".join(f"{state}:\n{describe_violations(v)}" for state, v in found.items() if v)
    assert not report, f"axe-core at {width} px:\n{report}"
