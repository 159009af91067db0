"""Local scratch space for work files (renders in progress, downloads), shared by both media stores."""

from __future__ import annotations

import tempfile
from pathlib import Path

from framecast.domain.errors import Unavailable
from framecast.media.keys import SCRATCH


def scratch_root(base: Path) -> Path:
    """``base/.tmp``, created if missing."""
    root = base / SCRATCH
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_work_dir(base: Path) -> Path:
    """A fresh directory under ``base/.tmp`` for one task's or request's files."""
    return Path(tempfile.mkdtemp(prefix="work-", dir=base / SCRATCH))


def check_writable(base: Path, what: str) -> None:
    """Unavailable (``storage_down``) naming ``what`` when no file can be created under ``base/.tmp``."""
    try:
        with tempfile.NamedTemporaryFile(dir=base / SCRATCH):
            pass
    except OSError as exc:
        raise Unavailable(f"The {what} is not writable: {exc.strerror}", code="storage_down") from exc
