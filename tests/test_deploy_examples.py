"""The deploy examples turn sign-in on: `serve` on a non-loopback address refuses to start without it
(tests/test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from framecast.cli import _check_exposure
from framecast.domain.identity import AuthMode
from framecast.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _env_file(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
    )
    return {key: value for key, value in pairs}


def _compose_env() -> dict[str, str]:
    """The ``x-framecast-env`` block of compose.yaml (flat ``KEY: value`` lines: no YAML parser needed)."""
    lines = (
        (DEPLOY / "compose.yaml").read_text().split("x-framecast-env: &framecast-env\n", 1)[1].splitlines()
    )
    env: dict[str, str] = {}
    for line in lines:
        if line and not line.startswith(" "):
            break
        item = line.split("#", 1)[0].strip()
        if item:
            key, _, value = item.partition(":")
            env[key.strip()] = value.strip().strip('"')
    return env


@pytest.mark.parametrize(
    "env", [_compose_env(), _env_file(DEPLOY / "framecast.env.example")], ids=["compose", "systemd"]
)
def test_the_scale_out_examples_sign_in_with_keys(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(host="0.0.0.0")
    assert settings.auth is AuthMode.KEYS
    assert settings.allowed_hosts
    _check_exposure(settings)  # would raise typer.Exit(2) without sign-in
