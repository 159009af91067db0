"""Media in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, rclone serve s3, …).

Workers upload what they make and download what they need into their task's scratch directory; API
replicas stream objects to clients (byte ranges included), so no disk is shared between machines.
Only this module knows the S3 client library.
"""

from __future__ import annotations

import mimetypes
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error

from framecast.domain.errors import InvalidInput, NotFound, Unavailable
from framecast.media.keys import SCRATCH, checked_key, checked_prefix
from framecast.services.ports import StoredFile

_READ_BLOCK = 256 * 1024
_RETRY_ON = (429, 500, 502, 503, 504)
_ERRORS = (MinioException, urllib3.exceptions.HTTPError)
_MISSING = {"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"}


@dataclass(frozen=True, slots=True)
class S3Location:
    """Where the media live: ``s3://bucket/prefix`` plus the endpoint and credentials to reach it.

    >>> S3Location.parse("s3://media/framecast", endpoint="http://127.0.0.1:9000").prefix
    'framecast/'
    """

    bucket: str
    prefix: str
    endpoint: str
    secure: bool
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None

    @classmethod
    def parse(
        cls,
        url: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
    ) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise InvalidInput(f"A media URL for S3 looks like s3://bucket/prefix, not {url!r}.")
        prefix = parts.path.strip("/")
        if prefix:
            checked_key(prefix)
        if endpoint:
            ep = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
            host, secure = ep.netloc, ep.scheme == "https"
        else:
            host, secure = (f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"), True
        return cls(
            bucket=parts.netloc,
            prefix=f"{prefix}/" if prefix else "",
            endpoint=host,
            secure=secure,
            region=region,
            access_key=access_key,
            secret_key=secret_key,
            session_token=session_token,
        )


class S3MediaStore:
    """Objects in one bucket under one prefix; ``scratch`` is a local directory for work files."""

    def __init__(self, location: S3Location, scratch: Path) -> None:
        self.location = location
        self.bucket = location.bucket
        self.scratch = scratch.resolve()
        (self.scratch / SCRATCH).mkdir(parents=True, exist_ok=True)
        # Data operations ride out a storage hiccup (about 30 s of retries with backoff) rather than fail a
        # render; the readiness probe asks once and answers quickly.
        self.client = self._client(urllib3.Retry(total=6, backoff_factor=0.5, status_forcelist=_RETRY_ON))
        self._probe = self._client(urllib3.Retry(total=0, status_forcelist=()))

    def _client(self, retries: urllib3.Retry) -> Minio:
        location = self.location
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5.0, read=60.0), retries=retries, maxsize=16
        )
        return Minio(
            location.endpoint,
            access_key=location.access_key,
            secret_key=location.secret_key,
            session_token=location.session_token,
            secure=location.secure,
            # Always a region: without one the client first asks the server for the bucket's location,
            # which some S3-compatible servers answer in ways it cannot parse.
            region=location.region or "us-east-1",
            http_client=http,
        )

    def _name(self, key: str) -> str:
        return self.location.prefix + checked_key(key)

    # -- writing --------------------------------------------------------------------------------------

    def put(self, src: Path, key: str) -> int:
        """Upload ``src`` as ``key`` (readers see the old object or the whole new one); removes ``src``."""
        size = src.stat().st_size
        mime = mimetypes.guess_type(key)[0] or "application/octet-stream"
        try:
            self.client.fput_object(self.bucket, self._name(key), str(src), content_type=mime)
        except _ERRORS as exc:
            _unavailable(exc)
        src.unlink(missing_ok=True)
        return size

    def delete(self, key: str) -> None:
        try:
            self.client.remove_object(self.bucket, self._name(key))
        except _ERRORS as exc:
            if not _is_missing(exc):
                _unavailable(exc)

    def delete_prefix(self, prefix: str) -> None:
        name = self.location.prefix + checked_prefix(prefix)
        try:
            listed = self.client.list_objects(self.bucket, prefix=name, recursive=True)
            doomed = (DeleteObject(obj.object_name) for obj in listed if obj.object_name)
            errors = list(self.client.remove_objects(self.bucket, doomed))
        except _ERRORS as exc:
            _unavailable(exc)
        if errors:
            raise Unavailable(
                f"Storage refused to delete {len(errors)} file(s): {errors[0].message}", code="storage_down"
            )

    # -- reading --------------------------------------------------------------------------------------

    def fetch(self, key: str, into: Path) -> Path:
        """Download ``key`` into the directory ``into``; returns the local copy."""
        target = into / checked_key(key).replace("/", "__")
        part = target.with_name(target.name + ".part")
        try:
            self.client.fget_object(self.bucket, self._name(key), str(target), tmp_file_path=str(part))
        except _ERRORS as exc:
            part.unlink(missing_ok=True)
            if _is_missing(exc):
                raise NotFound("The file is missing from storage.", code="asset_missing") from exc
            _unavailable(exc)
        return target

    def local_file(self, key: str) -> Path | None:
        checked_key(key)
        return None  # served by streaming the object

    def stat(self, key: str) -> StoredFile:
        try:
            obj = self.client.stat_object(self.bucket, self._name(key))
        except _ERRORS as exc:
            if _is_missing(exc):
                raise NotFound("The file is missing from storage.", code="asset_missing") from exc
            _unavailable(exc)
        etag = (obj.etag or "").strip('"')
        return StoredFile(
            size=int(obj.size or 0),
            etag=f'"{etag}"' if etag else f'"{obj.size:x}"',
            modified=obj.last_modified,
        )

    def read(self, key: str, start: int, length: int) -> Iterator[bytes]:
        """Stream ``length`` bytes from ``start``; the response is released however iteration ends."""
        if length <= 0:
            return
        try:
            response = self.client.get_object(self.bucket, self._name(key), offset=start, length=length)
        except _ERRORS as exc:
            if _is_missing(exc):
                raise NotFound("The file is missing from storage.", code="asset_missing") from exc
            _unavailable(exc)
        try:
            yield from response.stream(_READ_BLOCK)
        finally:
            response.close()
            response.release_conn()

    # -- housekeeping ---------------------------------------------------------------------------------

    def temp_dir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="work-", dir=self.scratch / SCRATCH))

    def ping(self) -> None:
        try:
            exists = self._probe.bucket_exists(self.bucket)
        except _ERRORS as exc:
            _unavailable(exc)
        if not exists:
            raise Unavailable(f"The media bucket {self.bucket!r} does not exist.", code="storage_down")
        try:
            with tempfile.NamedTemporaryFile(dir=self.scratch / SCRATCH):
                pass
        except OSError as exc:
            raise Unavailable(
                f"The scratch directory is not writable: {exc.strerror}", code="storage_down"
            ) from exc


def _is_missing(exc: Exception) -> bool:
    return isinstance(exc, S3Error) and exc.code in _MISSING


def _unavailable(exc: Exception) -> NoReturn:
    if isinstance(exc, S3Error):
        detail = f"{exc.code}: {exc.message}"
    else:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    raise Unavailable(
        f"The media storage did not answer as expected ({detail}).", code="storage_down"
    ) from exc
