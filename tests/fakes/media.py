"""An in-memory media store that behaves like a remote one (S3): bytes live in a dict, ``fetch`` downloads
a copy into the caller's directory and ``local_file`` is None. Work directories are real, under ``root``,
because handlers write files there before ``put``."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from framecast.domain.errors import NotFound, Unavailable
from framecast.domain.models import utcnow
from framecast.media.keys import checked_key, checked_prefix
from framecast.services.ports import StoredFile

_BLOCK = 64 * 1024


@dataclass(frozen=True)
class _Object:
    data: bytes
    etag: str
    modified: datetime


class FakeByteStream:
    """The bytes of one range; ``closed`` tells a test whether the reader released it."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for start in range(0, len(self._data), _BLOCK):
                if self.closed:
                    return
                yield self._data[start : start + _BLOCK]
        finally:
            self.close()

    def close(self) -> None:
        self.closed = True


class FakeMediaStore:
    """Stored files in memory. ``down = True`` makes every operation raise ``Unavailable``
    (``storage_down``), as an unreachable bucket does.

    >>> store = FakeMediaStore(Path(tempfile.mkdtemp()))
    >>> src = store.temp_dir() / "a.txt"
    >>> _ = src.write_bytes(b"hello")
    >>> store.put(src, "prj_1/a.txt"), src.exists(), store.read("prj_1/a.txt")
    (5, False, b'hello')
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects: dict[str, _Object] = {}
        self.down = False
        self._version = 0
        (root / ".tmp").mkdir(parents=True, exist_ok=True)

    def _check_up(self) -> None:
        if self.down:
            raise Unavailable("Storage is not reachable: FakeMediaStore.down", code="storage_down")

    def _get(self, key: str) -> _Object:
        found = self.objects.get(checked_key(key))
        if found is None:
            raise NotFound("The file is missing from storage.", code="asset_missing")
        return found

    def put(self, src: Path, key: str) -> int:
        self._check_up()
        data = src.read_bytes()
        self._version += 1
        etag = f'"{hashlib.md5(data).hexdigest()}-{self._version}"'  # a new version on every put
        self.objects[checked_key(key)] = _Object(data, etag, utcnow())
        src.unlink()
        return len(data)

    def fetch(self, key: str, into: Path) -> Path:
        self._check_up()
        obj = self._get(key)
        target = into / key.replace("/", "__")
        target.write_bytes(obj.data)
        return target

    def local_file(self, key: str) -> Path | None:
        checked_key(key)
        return None

    def stat(self, key: str) -> StoredFile:
        self._check_up()
        obj = self._get(key)
        return StoredFile(size=len(obj.data), etag=obj.etag, modified=obj.modified)

    def open_range(self, key: str, start: int, length: int, *, etag: str | None = None) -> FakeByteStream:
        self._check_up()
        obj = self._get(key)
        if etag is not None and obj.etag != etag:
            raise Unavailable("The file changed while it was being read; try again.", code="asset_changed")
        return FakeByteStream(obj.data[start : start + length])

    def delete(self, key: str) -> None:
        self._check_up()
        self.objects.pop(checked_key(key), None)

    def delete_prefix(self, prefix: str) -> None:
        self._check_up()
        wanted = checked_prefix(prefix)
        for key in [k for k in self.objects if k.startswith(wanted)]:
            del self.objects[key]

    def project_prefixes(self) -> Iterator[str]:
        self._check_up()
        seen = sorted({key.split("/", 1)[0] for key in self.objects if "/" in key})
        yield from (name for name in seen if name.startswith("prj_"))

    def temp_dir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="work-", dir=self.root / ".tmp"))

    def ping(self) -> None:
        self._check_up()

    # -- for tests --------------------------------------------------------------------------------------

    def read(self, key: str) -> bytes:
        return self._get(key).data

    def keys(self) -> list[str]:
        return sorted(self.objects)

    def write(self, key: str, data: bytes) -> None:
        """Store ``data`` as ``key`` directly (an upload made before the test)."""
        self._version += 1
        self.objects[checked_key(key)] = _Object(data, f'"{self._version:x}"', utcnow())
