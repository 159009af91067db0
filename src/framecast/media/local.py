"""Media in a local directory (embedded mode, or a directory every process shares).

Keys are relative paths; nothing outside the root is ever resolved.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from framecast.domain.errors import NotFound, Unavailable
from framecast.media.keys import checked_key, checked_prefix
from framecast.media.scratch import check_writable, new_work_dir, scratch_root
from framecast.services.ports import StoredFile

_READ_BLOCK = 256 * 1024


@contextmanager
def _storage(doing: str) -> Iterator[None]:
    """The directory failing (full, read-only, gone, an I/O error) is an outage: Unavailable ``storage_down``.
    A stored file that is simply missing is answered before this, as NotFound."""
    try:
        yield
    except OSError as exc:
        raise Unavailable(
            f"The media directory could not {doing}: {exc.strerror or exc.__class__.__name__}.",
            code="storage_down",
        ) from exc


class _FileStream:
    """``length`` bytes of a file from ``start``, read in blocks; the file is open until ``close``."""

    def __init__(self, path: Path, start: int, length: int) -> None:
        self._fh = path.open("rb")
        self._fh.seek(start)
        self._left = length

    def __iter__(self) -> Iterator[bytes]:
        try:
            while self._left > 0:
                block = self._fh.read(min(_READ_BLOCK, self._left))
                if not block:
                    return
                self._left -= len(block)
                yield block
        finally:
            self.close()

    def close(self) -> None:
        self._fh.close()


class LocalMediaStore:
    """Files under ``root``; ``put`` renames into place, so a reader never sees half a file.

    >>> store = LocalMediaStore(Path("/tmp/media"))    # doctest: +SKIP
    >>> store.put(Path("/tmp/media/.tmp/x.mp4"), "prj_1/ast_2/video.mp4")
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        scratch_root(self.root)

    def path(self, key: str) -> Path:
        """The file for ``key``; NotFound when the key would leave the media root."""
        candidate = (self.root / checked_key(key)).resolve()
        if not candidate.is_relative_to(self.root) or candidate == self.root:
            raise NotFound("No such file.", code="asset_not_found")  # a symlink pointing out
        return candidate

    def put(self, src: Path, key: str) -> int:
        """Move ``src`` (which should live in ``temp_dir()``, same filesystem) to ``key``; returns its size."""
        target = self.path(key)
        with _storage("store a file"):
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

    def fetch(self, key: str, into: Path) -> Path:
        """A local file with the bytes of ``key``: here the stored file itself (``into`` is not needed)."""
        path = self.path(key)
        if not path.is_file():
            raise NotFound("The file is missing from storage.", code="asset_missing")
        return path

    def local_file(self, key: str) -> Path | None:
        return self.path(key)

    def stat(self, key: str) -> StoredFile:
        path = self.fetch(key, self.root)
        with _storage("read a file"):
            st = path.stat()
        return StoredFile(
            size=st.st_size,
            etag=f'"{st.st_mtime_ns:x}-{st.st_size:x}"',
            modified=datetime.fromtimestamp(st.st_mtime, UTC),
        )

    def open_range(self, key: str, start: int, length: int, *, etag: str | None = None) -> _FileStream:
        if etag is not None and self.stat(key).etag != etag:
            raise Unavailable("The file changed while it was being read; try again.", code="asset_changed")
        path = self.fetch(key, self.root)
        with _storage("read a file"):
            return _FileStream(path, start, length)

    def delete(self, key: str) -> None:
        with _storage("delete a file"):
            self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        target = (self.root / checked_prefix(prefix)).resolve()
        if target.is_relative_to(self.root) and target != self.root and target.exists():
            shutil.rmtree(target, ignore_errors=True)

    def project_prefixes(self) -> Iterator[str]:
        with _storage("be listed"):
            entries = list(self.root.iterdir())
        for entry in entries:
            if entry.name.startswith("prj_") and entry.is_dir():
                yield entry.name

    def temp_dir(self) -> Path:
        with _storage("make a work directory"):
            return new_work_dir(self.root)

    def ping(self) -> None:
        check_writable(self.root, "media directory")
