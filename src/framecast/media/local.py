"""Media in a local directory. Keys are relative paths; nothing outside the root is ever resolved."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from framecast.domain.errors import NotFound, Unavailable


class LocalMediaStore:
    """Files under ``root``; ``put`` renames into place, so a reader never sees half a file.

    >>> store = LocalMediaStore(Path("/tmp/media"))    # doctest: +SKIP
    >>> store.put(Path("/tmp/media/.tmp/x.mp4"), "prj_1/ast_2/video.mp4")
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".tmp").mkdir(exist_ok=True)

    def path(self, key: str) -> Path:
        """The file for ``key``; NotFound when the key would leave the media root or does not exist."""
        candidate = (self.root / key).resolve()
        if (
            not candidate.is_relative_to(self.root)
            or candidate == self.root
            or ".tmp" in candidate.parts[len(self.root.parts) :]
        ):
            raise NotFound("No such file.", code="asset_not_found")
        return candidate

    def put(self, src: Path, key: str) -> int:
        """Move ``src`` (which should live in ``temp_dir()``, same filesystem) to ``key``; returns its size."""
        target = (self.root / key).resolve()
        if not target.is_relative_to(self.root):
            raise NotFound("Invalid media key.", code="asset_not_found")
        target.parent.mkdir(parents=True, exist_ok=True)
        size = src.stat().st_size
        try:
            os.replace(src, target)
        except OSError:
            # Another filesystem: copy beside the target, then rename, to stay atomic for readers.
            tmp = target.with_name(f".{target.name}.part")
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)
            src.unlink(missing_ok=True)
        return size

    def delete_prefix(self, prefix: str) -> None:
        target = (self.root / prefix).resolve()
        if target.is_relative_to(self.root) and target != self.root and target.exists():
            shutil.rmtree(target, ignore_errors=True)

    def temp_dir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="work-", dir=self.root / ".tmp"))

    def ping(self) -> None:
        try:
            with tempfile.NamedTemporaryFile(dir=self.root / ".tmp"):
                pass
        except OSError as exc:
            raise Unavailable(
                f"The media directory is not writable: {exc.strerror}", code="storage_down"
            ) from exc
