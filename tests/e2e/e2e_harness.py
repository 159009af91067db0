"""Real processes for the browser tests and the page benchmark: a `framecast serve`, an nginx in front of it
that buffers SSE, a TCP proxy that can cut every connection, and helpers that drive the page.

Nothing here is mocked: the page talks HTTP to a real server through real sockets.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from tests.support.tcp_proxy import TcpProxy  # noqa: F401 - re-exported for the e2e tests

REPO = Path(__file__).resolve().parents[2]
FRAMECAST = REPO / ".venv" / "bin" / "framecast"
CHROMIUM = "/usr/bin/chromium"
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Background tabs must keep their timers running for the seven-tab test.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
PAGE_PATH = "/tools/video-generator"
# Slow renders down a little so a test can act while a video renders (2 s at 24 fps = 48 frames).
BASE_ENV = {
    "FRAMECAST_DEBUG_FRAME_DELAY_MS": "60",
    "FRAMECAST_PING_INTERVAL_S": "5",
    "FRAMECAST_HEARTBEAT_TIMEOUT_S": "3",
    "FRAMECAST_DRAIN_TIMEOUT_S": "2",  # a server stopped mid-render drains its worker first
}
# Small, quick videos: the tests are about delivery, not pixels.
SMALL = {"duration_s": 2, "resolution": "360p", "fps": 24, "aspect": "16:9"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s ({last})")


@dataclass
class Server:
    """A `framecast serve` subprocess with its own data directory; restartable on the same port."""

    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fc-e2e-")))
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"server-{self.starts}.log"

    def start(self) -> Server:
        self.starts += 1
        env = {**os.environ, "FRAMECAST_LOG_LEVEL": "WARNING", **self.env}
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                str(FRAMECAST),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--workers",
                "1",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_http(f"{self.url}/healthz", 60, self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"framecast serve did not start:\n{self.log_tail()}") from None
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # --- keys (FRAMECAST_AUTH=keys) ---

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(FRAMECAST), *args, "--data-dir", str(self.data_dir)],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    def make_key(self, owner: str) -> str:
        """A new API key for `owner`, made the way an operator makes one (`framecast keys create`)."""
        return self._cli("keys", "create", "--owner", owner).strip().splitlines()[-1]

    def revoke_key(self, key: str) -> None:
        key_id = "key_" + key.removeprefix("fc_").split("_", 1)[0]
        self._cli("keys", "revoke", key_id)

    def count(self, sql: str) -> int:
        """One number straight from the server's SQLite ledger (what exists, whoever asked for it)."""
        with contextlib.closing(
            sqlite3.connect(f"file:{self.data_dir / 'framecast.db'}?mode=ro", uri=True)
        ) as db:
            return int(db.execute(sql).fetchone()[0])

    # --- API helpers (the tests check the page against the server's own records) ---
    # `key`: call as that key's owner (keys mode); without it, as the single owner of none mode.

    def create(self, prompt: str, *, key: str | None = None, **options: Any) -> dict[str, Any]:
        r = httpx.post(
            f"{self.url}/api/projects",
            json={"prompt": prompt, **SMALL, **options},
            headers=bearer(key),
            timeout=10,
        )
        r.raise_for_status()
        return dict(r.json())

    def snapshot(self, project_id: str, *, key: str | None = None) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/api/projects/{project_id}", headers=bearer(key), timeout=10)
        r.raise_for_status()
        return dict(r.json())

    def events(self, project_id: str, after: int = 0, *, key: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            r = httpx.get(
                f"{self.url}/api/projects/{project_id}/events",
                params={"after": after},
                headers={"Accept": "application/json", **bearer(key)},
                timeout=10,
            )
            r.raise_for_status()
            batch = r.json()["events"]
            if not batch:
                return out
            out.extend(batch)
            after = batch[-1]["seq"]

    def wait_terminal(
        self, project_id: str, timeout_s: float = 60, *, key: str | None = None
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            snap = self.snapshot(project_id, key=key)
            if snap["terminal"]:
                return snap
            time.sleep(0.2)
        raise TimeoutError(f"{project_id} not terminal after {timeout_s} s")


def bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@dataclass
class StaticSite:
    """Another origin in the same browser: Python's http.server serving a directory on its own port (the
    attacker's site in the cross-site tests). Reach it as http://127.0.0.1:port (same site as the server,
    another origin) or http://localhost:port (another site)."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fc-site-")))
    port: int = field(default_factory=free_port)
    _httpd: ThreadingHTTPServer | None = None

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    def start(self) -> StaticSite:
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        shutil.rmtree(self.root, ignore_errors=True)


NGINX_CONF = """
daemon off;
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port};
        location ~ /ws$ {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 300s;
        }}
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            # Compressing a stream holds its bytes in zlib until a block fills: with buffering this is the
            # proxy that swallows small SSE messages (the stream opens, then says nothing).
            gzip on;
            gzip_types text/event-stream application/json;
            gzip_min_length 0;
            gzip_proxied any;
            # The misconfigured proxy of the field reports: SSE is held back until the buffer fills,
            # whatever the application asks for.
            proxy_buffering on;
            proxy_ignore_headers X-Accel-Buffering;
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """A private nginx (its own prefix, config and port) in front of an upstream port."""

    upstream: int
    port: int = field(default_factory=free_port)
    prefix: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fc-nginx-")))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        conf = self.prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=self.prefix, port=self.port, upstream=self.upstream))
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(f"{self.url}/healthz", 15, self.proc)
        return self

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
        shutil.rmtree(self.prefix, ignore_errors=True)


# --- driving the page -------------------------------------------------------------------------------------


class Console:
    """Collects the page's console lines (the product note's messages are the page's story)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, msg: Any) -> None:
        self.lines.append(msg.text)

    def has(self, fragment: str) -> bool:
        return any(fragment in line for line in self.lines)

    def count(self, fragment: str) -> int:
        return sum(fragment in line for line in self.lines)

    def dump(self) -> str:
        return "\n".join(self.lines[-80:])


def submit(page: Any, prompt: str, *, duration: int = 2, resolution: str = "360p", fps: int = 24) -> str:
    """Fill the form, press Generate and return the new project's id (from its card)."""
    before = set(project_ids(page))
    page.fill("#prompt", prompt)
    page.fill("#duration_s", str(duration))
    page.select_option("#resolution", resolution)
    page.select_option("#fps", str(fps))
    page.click("#generate")
    page.wait_for_function(
        "n => document.querySelectorAll('article.project').length > n", arg=len(before), timeout=15_000
    )
    new = [i for i in project_ids(page) if i not in before]
    assert len(new) == 1, new
    return new[0]


def project_ids(page: Any) -> list[str]:
    return list(page.eval_on_selector_all("article.project", "els => els.map(e => e.dataset.projectId)"))


def card(project_id: str) -> str:
    return f'article.project[data-project-id="{project_id}"]'


def wait_video(page: Any, project_id: str, timeout_ms: int = 60_000) -> str:
    """Wait for the result's <video> in the project's card; return its src."""
    sel = f"{card(project_id)} video.result-video"
    page.wait_for_selector(sel, timeout=timeout_ms, state="attached")
    return str(page.get_attribute(sel, "src"))


def wait_running(page: Any, project_id: str, min_percent: int = 1, timeout_ms: int = 30_000) -> None:
    """Wait until the page shows the project rendering (some progress drawn)."""
    page.wait_for_function(
        """([id, min]) => {
            const d = window.framecast && window.framecast.debug(id);
            const el = document.querySelector(`article.project[data-project-id="${id}"] .percent`);
            return d && d.status === 'running' && el && parseInt(el.textContent) >= min;
        }""",
        arg=[project_id, min_percent],
        timeout=timeout_ms,
    )


def debug(page: Any, project_id: str) -> dict[str, Any]:
    return dict(page.evaluate("id => window.framecast.debug(id)", project_id))


def assert_contiguous(applied: list[int], server_last: int) -> None:
    """Every seq exactly once, in order, up to the server's last one."""
    assert applied, "the page applied no events"
    assert len(applied) == len(set(applied)), f"repeated events: {applied}"
    assert applied == list(range(applied[0], applied[-1] + 1)), f"missing events: {applied}"
    assert applied[-1] == server_last, f"page stopped at {applied[-1]}, server at {server_last}"


def axe_violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now and return its violations (rule id, impact, nodes).

    The script goes in through `evaluate` (the DevTools protocol), which the page's CSP does not govern, so the
    page is checked with its real policy in force.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
        }"""
    )
    return list(result)


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['impact']} {v['id']}: {v['help']}")
        lines.extend(
            f"    {n['target']}: {(n['summary'] or '').splitlines()[-1].strip()}" for n in v["nodes"]
        )
    return "\n".join(lines)


@contextlib.contextmanager
def started(obj: Any) -> Iterator[Any]:
    obj.start()
    try:
        yield obj
    finally:
        obj.close()


# --- faults ----------------------------------------------------------------------------------------------


def block_sse(page: Any) -> None:
    """Abort the page's SSE requests (JSON polling on the same path still passes)."""

    def handle(route: Any) -> None:
        if "text/event-stream" in (route.request.headers.get("accept") or ""):
            route.abort()
        else:
            route.continue_()

    page.route(re.compile(r"/api/projects/[^/]+/events"), handle)


def block_ws(page: Any) -> None:
    """A WebSocket that is closed by "the network" before it says hello."""
    page.route_web_socket(re.compile(r"/api/projects/[^/]+/ws"), lambda ws: ws.close())
