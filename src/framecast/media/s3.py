"""Media in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, rclone serve s3, …).

Workers upload what they make and download what they need into their task's scratch directory; API
replicas stream objects to clients (byte ranges included), so no disk is shared between machines.
Only this module knows the S3 client library.

Credentials are asked for on every request, from a chain that refreshes (:func:`credential_chain`):
explicit keys from the settings when given, else the environment, the AWS shared credentials file
(re-read every minute, so a rewritten file takes effect without a restart), then an IAM role (EC2
instance metadata, ECS task role or web identity, whose temporary keys carry an expiry and are renewed
before it).
"""

from __future__ import annotations

import mimetypes
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.credentials.credentials import Credentials
from minio.credentials.providers import (  # the package __init__ re-exports without __all__
    AWSConfigProvider,
    ChainedProvider,
    EnvAWSProvider,
    EnvMinioProvider,
    IamAwsProvider,
    Provider,
    StaticProvider,
)
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, MinioException, S3Error

from framecast.domain.errors import InvalidInput, NotFound, Unavailable
from framecast.media.keys import checked_key, checked_prefix
from framecast.media.scratch import check_writable, new_work_dir, scratch_root
from framecast.services.ports import StoredFile

_READ_BLOCK = 256 * 1024
_RETRY_ON = (429, 500, 502, 503, 504)
_ERRORS = (MinioException, urllib3.exceptions.HTTPError)
_MISSING = {"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"}
# minio's Credentials.is_expired() counts keys as expired 10 s before their expiration.
_EXPIRY_SKEW = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class S3Location:
    """Where the media live: ``s3://bucket/prefix``, the endpoint, and explicit keys if the settings give them.

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

    @classmethod
    def parse(
        cls,
        url: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise InvalidInput(f"A media URL for S3 looks like s3://bucket/prefix, not {url!r}.")
        if bool(access_key) != bool(secret_key):
            raise InvalidInput("Set both FRAMECAST_S3_ACCESS_KEY and FRAMECAST_S3_SECRET_KEY, or neither.")
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
        )


class RereadProvider(Provider):
    """Credentials from ``inner`` (a file) stamped to expire after ``every_s``, so a chain reads them again.

    minio caches credentials that carry no expiry for the life of the client: a rotated shared
    credentials file would only be seen after a restart. Keys that come with an expiry (STS) keep it.
    """

    def __init__(
        self, inner: Provider, every_s: float, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._inner = inner
        self._every = timedelta(seconds=every_s)
        self._now = now

    def retrieve(self) -> Credentials:
        found = self._inner.retrieve()
        if found.expiration is not None:
            return found
        return Credentials(
            found.access_key,
            found.secret_key,
            found.session_token,
            expiration=self._now() + self._every + _EXPIRY_SKEW,
        )


class CredentialChain(ChainedProvider):
    """minio's chain, with one refresh at a time and failures as :class:`Unavailable` (503, not a 500)."""

    def __init__(self, providers: list[Provider]) -> None:
        super().__init__(providers)
        self._lock = threading.Lock()

    def retrieve(self) -> Credentials:
        with self._lock:
            try:
                return super().retrieve()
            except ValueError as exc:  # every provider said "not here"
                raise Unavailable(
                    "No S3 credentials found: set FRAMECAST_S3_ACCESS_KEY and FRAMECAST_S3_SECRET_KEY, "
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, an AWS shared credentials file, or run "
                    "with an IAM role.",
                    code="storage_down",
                ) from exc
            except (OSError, urllib3.exceptions.HTTPError) as exc:  # the IAM endpoint did not answer
                raise Unavailable(
                    "No S3 credentials in the settings, the environment or the AWS shared credentials file, "
                    f"and the IAM credentials endpoint did not answer ({type(exc).__name__}).",
                    code="storage_down",
                ) from exc


def credential_chain(
    access_key: str | None = None, secret_key: str | None = None, *, reread_file_s: float = 60.0
) -> CredentialChain:
    """Explicit keys when given, else (first that has keys) the environment (``AWS_ACCESS_KEY_ID``/
    ``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, then ``MINIO_ACCESS_KEY``/``MINIO_SECRET_KEY``), the
    AWS shared credentials file (``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_PROFILE``; re-read every
    ``reread_file_s``), then an IAM role (instance metadata, ECS, ``AWS_WEB_IDENTITY_TOKEN_FILE``).

    >>> credential_chain("AKIAEXAMPLE", "secret").retrieve().access_key
    'AKIAEXAMPLE'
    """
    # minio's default IAM client has no timeout: off AWS, asking 169.254.169.254 would hang a request.
    iam_http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=1.0, read=3.0),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=_RETRY_ON),
    )
    providers: list[Provider] = []
    if access_key and secret_key:
        providers.append(StaticProvider(access_key, secret_key))
    providers += [
        EnvAWSProvider(),
        EnvMinioProvider(),
        RereadProvider(AWSConfigProvider(), reread_file_s),
        IamAwsProvider(http_client=iam_http),
    ]
    return CredentialChain(providers)


class _ObjectStream:
    """An open GET of an object: iterate for its bytes; ``close`` releases the connection (idempotent)."""

    def __init__(self, response: urllib3.BaseHTTPResponse | None) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        try:
            if self._response is not None:
                yield from self._response.stream(_READ_BLOCK)
        finally:
            self.close()

    def close(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()
            response.release_conn()


class S3MediaStore:
    """Objects in one bucket under one prefix; ``scratch`` is a local directory for work files."""

    def __init__(self, location: S3Location, scratch: Path, *, credentials: Provider | None = None) -> None:
        self.location = location
        # One provider for both clients: a refresh serves both.
        self.credentials = credentials or credential_chain(location.access_key, location.secret_key)
        self.bucket = location.bucket
        self.scratch = scratch.resolve()
        scratch_root(self.scratch)
        # Workers' data operations ride out a storage hiccup (about 30 s of retries with backoff, POST
        # included: multipart uploads start and finish with one) rather than fail a render. The HTTP path
        # (stat and reads for /media) and the readiness probe get one quick retry, so a storage outage
        # answers 503 within seconds instead of tying up the API's threads.
        self.client = self._client(
            urllib3.Retry(total=6, backoff_factor=0.5, status_forcelist=_RETRY_ON, allowed_methods=None),
            urllib3.Timeout(connect=5.0, read=60.0),
        )
        self._quick = self._client(
            urllib3.Retry(total=1, backoff_factor=0.1, status_forcelist=_RETRY_ON),
            urllib3.Timeout(connect=3.0, read=10.0),
        )

    def _client(self, retries: urllib3.Retry, timeout: urllib3.Timeout) -> Minio:
        location = self.location
        http = urllib3.PoolManager(timeout=timeout, retries=retries, maxsize=16)
        return Minio(
            location.endpoint,
            credentials=self.credentials,
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
        """Remove every object under ``prefix/`` (quick client: called by the API; the sweep retries)."""
        name = self.location.prefix + checked_prefix(prefix)
        try:
            listed = self._quick.list_objects(self.bucket, prefix=name, recursive=True)
            doomed = (DeleteObject(obj.object_name) for obj in listed if obj.object_name)
            errors = list(self._quick.remove_objects(self.bucket, doomed))
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
        for attempt in range(3):  # a connection cut mid-body is not retried by urllib3: start over
            try:
                self.client.fget_object(self.bucket, self._name(key), str(target), tmp_file_path=str(part))
                return target
            except _ERRORS as exc:
                part.unlink(missing_ok=True)
                if _is_missing(exc):
                    raise NotFound("The file is missing from storage.", code="asset_missing") from exc
                if attempt == 2 or isinstance(exc, MinioException):
                    _unavailable(exc)
        raise AssertionError("unreachable")

    def local_file(self, key: str) -> Path | None:
        checked_key(key)
        return None  # served by streaming the object

    def stat(self, key: str) -> StoredFile:
        try:
            obj = self._quick.stat_object(self.bucket, self._name(key))
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

    def open_range(self, key: str, start: int, length: int, *, etag: str | None = None) -> _ObjectStream:
        """GET the range now (errors raise before any byte is sent); with ``etag``, only that version."""
        headers: dict[str, str | list[str] | tuple[str]] | None = {"If-Match": etag} if etag else None
        if length <= 0:
            return _ObjectStream(None)
        try:
            response = self._quick.get_object(
                self.bucket, self._name(key), offset=start, length=length, request_headers=headers
            )
        except _ERRORS as exc:
            if _is_missing(exc):
                raise NotFound("The file is missing from storage.", code="asset_missing") from exc
            if _s3_code(exc) == "PreconditionFailed":
                raise Unavailable(
                    "The file changed while it was being read; try again.", code="asset_changed"
                ) from exc
            _unavailable(exc)
        stream = _ObjectStream(response)
        got = response.headers.get("ETag")
        if etag and got and got.strip('"') != etag.strip('"'):  # servers that ignore If-Match
            stream.close()
            raise Unavailable("The file changed while it was being read; try again.", code="asset_changed")
        return stream

    # -- housekeeping ---------------------------------------------------------------------------------

    def project_prefixes(self) -> Iterator[str]:
        try:
            for obj in self._quick.list_objects(self.bucket, prefix=self.location.prefix + "prj_"):
                name = (obj.object_name or "")[len(self.location.prefix) :].rstrip("/")
                if obj.is_dir and name.startswith("prj_") and "/" not in name:
                    yield name
        except _ERRORS as exc:
            _unavailable(exc)

    def temp_dir(self) -> Path:
        return new_work_dir(self.scratch)

    def ping(self) -> None:
        try:
            exists = self._quick.bucket_exists(self.bucket)
        except _ERRORS as exc:
            _unavailable(exc)
        if not exists:
            raise Unavailable(f"The media bucket {self.bucket!r} does not exist.", code="storage_down")
        check_writable(self.scratch, "scratch directory")


def _s3_code(exc: Exception) -> str | None:
    """The S3 error code, also from error bodies the client could not parse (served as text/xml)."""
    if isinstance(exc, S3Error):
        return exc.code
    if isinstance(exc, InvalidResponseError):
        found = re.search(r"<Code>([^<]+)</Code>", str(getattr(exc, "_body", "") or ""))
        if found:
            return found.group(1)
        return {404: "NoSuchKey", 412: "PreconditionFailed", 403: "AccessDenied"}.get(
            getattr(exc, "_code", 0)
        )
    return None


def _is_missing(exc: Exception) -> bool:
    return _s3_code(exc) in _MISSING


def _unavailable(exc: Exception) -> NoReturn:
    code = _s3_code(exc)
    if isinstance(exc, S3Error):
        detail = f"{exc.code}: {exc.message}"
    elif code is not None:
        detail = code
    else:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    raise Unavailable(
        f"The media storage did not answer as expected ({detail}).", code="storage_down"
    ) from exc
