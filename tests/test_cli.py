"""The CLI as a person runs it: real processes, real files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import av
import httpx
import pytest

from tests.support.server import Server, create, wait_chunk_progress


def run(
    *args: str, tmp_path: Path, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("FRAMECAST_API_KEY", "FRAMECAST_SERVER")}
    env = dict(base, FRAMECAST_DATA_DIR=str(tmp_path / "data"), FRAMECAST_WORKERS="2", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "framecast", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_generate_writes_a_playable_mp4(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    result = run(
        "generate",
        "A lighthouse in the fog",
        "-o",
        str(out),
        "--duration",
        "1",
        "--resolution",
        "360p",
        "--fps",
        "24",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Wrote" in result.stdout and "rendering" in result.stderr
    # Not a terminal: plain lines (no escape codes), a few of them, the last one at 100%.
    lines = result.stderr.strip().splitlines()
    assert "\x1b" not in result.stderr and len(lines) <= 15, result.stderr
    assert lines[-1].strip().endswith("100%")
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 360)
    assert frames == 24


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["generate", "", "--duration", "2"], "prompt"),
        (["generate", "ok", "--duration", "0"], "duration_s"),
        (["generate", "ok", "--resolution", "8k"], "resolution"),
        (["generate", "ok", "--fps", "7"], "fps"),
    ],
)
def test_generate_bad_options_print_an_error_not_a_traceback(
    tmp_path: Path, args: list[str], field: str
) -> None:
    result = run(*args, tmp_path=tmp_path, timeout=60)
    assert result.returncode != 0
    assert result.stderr.startswith("Error:") and field in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = run("db", "upgrade", tmp_path=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "framecast.db").exists()
    again = run("db", "upgrade", tmp_path=tmp_path, timeout=60)
    assert again.returncode == 0


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    made = run("keys", "create", "--owner", "ana", "--label", "laptop", tmp_path=tmp_path, timeout=60)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("fc_") and " " not in key  # the key alone on its last line
    key_id = "key_" + key.split("_")[1]
    admin = run("keys", "create", "--owner", "ops", "--admin", tmp_path=tmp_path, timeout=60)
    assert admin.returncode == 0, admin.stderr
    listed = run("keys", "list", tmp_path=tmp_path, timeout=60)
    assert listed.returncode == 0 and key_id in listed.stdout and "laptop" in listed.stdout
    assert "admin" in listed.stdout and key not in listed.stdout  # never the secret again
    revoked = run("keys", "revoke", key_id, tmp_path=tmp_path, timeout=60)
    assert revoked.returncode == 0 and "Revoked" in revoked.stdout
    assert "revoked" in run("keys", "list", tmp_path=tmp_path, timeout=60).stdout
    missing = run("keys", "revoke", "key_nope", tmp_path=tmp_path, timeout=60)
    assert (
        missing.returncode == 1 and missing.stderr.startswith("Error:") and "Traceback" not in missing.stderr
    )
    bad = run("keys", "create", "--owner", "a b", tmp_path=tmp_path, timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith("Error:")


def test_serve_refuses_a_public_bind_without_sign_in(tmp_path: Path) -> None:
    refused = run("serve", "--host", "0.0.0.0", "--port", "0", tmp_path=tmp_path, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.startswith("Error: refusing to listen on 0.0.0.0 without sign-in")
    assert "FRAMECAST_AUTH=keys" in refused.stderr and "Traceback" not in refused.stderr
    for host in ("192.0.2.10", "::"):
        assert run("serve", "--host", host, "--port", "0", tmp_path=tmp_path, timeout=60).returncode == 2


def test_a_bad_setting_is_named_not_a_traceback(tmp_path: Path) -> None:
    env_run = subprocess.run(
        [sys.executable, "-m", "framecast", "serve"],
        env=dict(os.environ, FRAMECAST_DATA_DIR=str(tmp_path), FRAMECAST_TRUSTED_PROXIES="not-a-cidr"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert env_run.returncode == 2
    assert env_run.stderr.startswith("Error: FRAMECAST_TRUSTED_PROXIES") and "Traceback" not in env_run.stderr


def test_serve_on_a_public_bind_with_auth_none_said_on_purpose_warns_and_runs(tmp_path: Path) -> None:
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(
        os.environ, FRAMECAST_DATA_DIR=str(tmp_path / "data"), FRAMECAST_WORKERS="0", FRAMECAST_AUTH="none"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "framecast", "serve", "--host", "0.0.0.0", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("serve did not start")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "FRAMECAST_AUTH=none: anyone who reaches this port owns every video" in err


@pytest.mark.slow
def test_generate_against_a_keys_mode_server(tmp_path: Path) -> None:
    """The key made with the CLI against the server's own data dir; FRAMECAST_API_KEY carries it."""
    made = run("keys", "create", "--owner", "ana", tmp_path=tmp_path, timeout=60)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    server = Server(tmp_path / "data", workers=1, env={"FRAMECAST_AUTH": "keys"}).start()
    try:
        out = tmp_path / "keyed.mp4"
        args = ["generate", "A key under the mat", "-o", str(out), "--duration", "1", "--resolution", "360p"]
        ok = run(*args, "--server", server.url, tmp_path=tmp_path, env={"FRAMECAST_API_KEY": key})
        assert ok.returncode == 0, ok.stderr[-3000:]
        assert "Wrote" in ok.stdout and out.stat().st_size > 1000
        for env, says in [({}, "needs an API key"), ({"FRAMECAST_API_KEY": key[:-2] + "zz"}, "refused")]:
            refused = run(*args, "--server", server.url, tmp_path=tmp_path, timeout=60, env=env)
            assert refused.returncode == 1, refused.stderr
            assert refused.stderr.startswith("Error:") and "Traceback" not in refused.stderr
            assert "FRAMECAST_API_KEY" in refused.stderr and says in refused.stderr
    finally:
        server.stop()


def test_generate_against_an_unreachable_server_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    from framecast.client.local import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = run("generate", "Nobody home", "--server", url, tmp_path=tmp_path, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Error:") and url in result.stderr and "Traceback" not in result.stderr


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _frames(raw: bytes) -> list[str]:
    """Every state the terminal showed: Rich redraws the bar in place (carriage return, erase line)."""
    text = ANSI.sub("", raw.decode("utf-8", errors="replace"))
    return [line.strip() for line in re.split(r"[\r\n]", text) if line.strip()]


@pytest.mark.slow
def test_generate_shows_one_overall_bar_with_queue_position_and_eta(tmp_path: Path) -> None:
    """One worker, busy with a first project: the CLI's project waits behind it (queue position), then
    renders in several chunks one after another; the bar follows the project's overall progress, so it
    never goes back when a new chunk starts at 0, and it ends at 100%."""
    env = {"FRAMECAST_DEBUG_FRAME_DELAY_MS": "50", "FRAMECAST_CHUNK_SECONDS": "1"}
    srv = Server(tmp_path / "server", workers=1, env=env).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            first = create(client, prompt="A long ferry crossing", duration_s=6, resolution="360p", fps=24)
            wait_chunk_progress(client, first["id"], above=0.0)  # it holds the only worker now
        out = tmp_path / "second.mp4"
        base = {k: v for k, v in os.environ.items() if k not in ("FRAMECAST_API_KEY", "FRAMECAST_SERVER")}
        terminal = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "100"}
        result = subprocess.run(
            [sys.executable, "-m", "framecast", "generate", "A paper boat", "-o", str(out)]
            + ["--duration", "4", "--resolution", "360p", "--fps", "24", "--server", srv.url],
            env=dict(base, **terminal),
            capture_output=True,
            timeout=240,
        )
    finally:
        srv.stop()
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, stderr[-3000:]
    assert out.stat().st_size > 1000 and b"Wrote" in result.stdout
    assert "\r" in stderr and "\x1b[" in stderr, "not drawn as a terminal bar"
    frames = _frames(result.stderr)
    bars = [f for f in frames if re.search(r"\d+%", f)]
    percents = [int(re.findall(r"(\d+)%", f)[-1]) for f in bars]
    assert all(len(re.findall(r"\d+%", f)) == 1 for f in bars), "more than one bar on a line"
    assert percents and percents == sorted(percents), f"the bar went backwards: {percents}"
    assert percents[-1] == 100
    assert len(set(percents)) >= 3, f"the bar did not move through the render: {percents}"
    assert any(re.match(r"queued, \d+ ahead", f) for f in bars), frames[:10]
    assert any(re.search(r"rendering .* ETA \d+:\d\d:\d\d", f) for f in bars), frames
