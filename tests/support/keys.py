"""API keys for tests against a real server: made with the CLI, as an operator would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def make_key(data_dir: Path, owner: str, *, admin: bool = False) -> str:
    """A new key for ``owner`` (``framecast keys create``, whose last line is the key)."""
    cmd = [sys.executable, "-m", "framecast", "keys", "create", "--owner", owner, "--data-dir", str(data_dir)]
    done = subprocess.run(
        [*cmd, *(["--admin"] if admin else [])], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip().splitlines()[-1]
