"""Where the S3 store gets its keys, against a real S3-compatible server (rclone serve s3).

Explicit settings win; otherwise the environment, the AWS shared credentials file, then an IAM endpoint,
and keys that are rotated (the file rewritten, temporary keys expiring) are picked up by the running store.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from minio.credentials.credentials import Credentials
from minio.credentials.providers import AWSConfigProvider, Provider, StaticProvider

from framecast.app_context import make_media_store
from framecast.client.local import free_port
from framecast.domain.errors import InvalidInput, Unavailable
from framecast.media.s3 import (
    CredentialChain,
    RereadProvider,
    S3Location,
    S3MediaStore,
    credential_chain,
)
from tests.support.s3_server import ACCESS_KEY, SECRET_KEY, S3Server

NEW_ACCESS_KEY = "framecast-rotated-key"
NEW_SECRET_KEY = "framecast-rotated-secret"

_CREDENTIAL_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_SESSION_TOKEN",
    "MINIO_ACCESS_KEY",
    "MINIO_SECRET_KEY",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)


@pytest.fixture
def credentials_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No credentials anywhere in the environment; AWS_SHARED_CREDENTIALS_FILE names this (absent) file."""
    for name in _CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "aws" / "credentials"
    path.parent.mkdir()
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    return path


def _write_profile(path: Path, access: str, secret: str, profile: str = "default") -> None:
    path.write_text(f"[{profile}]\naws_access_key_id = {access}\naws_secret_access_key = {secret}\n")


def _store(server: S3Server, tmp_path: Path, credentials: Provider | None = None) -> S3MediaStore:
    location = S3Location.parse("s3://media/creds", endpoint=server.endpoint, region="us-east-1")
    return S3MediaStore(location, tmp_path / "scratch", credentials=credentials)


def _round_trip(store: S3MediaStore, tmp_path: Path, key: str = "prj_1/ast_1/a.bin") -> None:
    src = store.temp_dir() / "a.bin"
    src.write_bytes(b"stored with these keys")
    store.put(src, key)
    into = tmp_path / "into"
    into.mkdir(exist_ok=True)
    assert store.fetch(key, into).read_bytes() == b"stored with these keys"


def _rotate_server_keys(server: S3Server) -> None:
    server.stop()
    server.keys = [(NEW_ACCESS_KEY, NEW_SECRET_KEY)]
    server.start()


def _eventually(check: Callable[[], None], timeout_s: float = 15.0) -> int:
    """Call ``check`` until it stops raising :class:`Unavailable`; returns how many calls failed first."""
    failed = 0
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            check()
            return failed
        except Unavailable:
            failed += 1
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# -- the sources, one at a time ------------------------------------------------------------------------


def test_keys_from_the_environment(
    s3_server: S3Server, credentials_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    store = make_media_store(s3_server.settings(tmp_path / "data", s3_access_key=None, s3_secret_key=None))
    assert isinstance(store, S3MediaStore)
    store.ping()
    _round_trip(store, tmp_path)


def test_minio_style_environment_keys(
    s3_server: S3Server, credentials_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIO_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("MINIO_SECRET_KEY", SECRET_KEY)
    _round_trip(_store(s3_server, tmp_path), tmp_path)


def test_keys_from_the_shared_credentials_file_and_profile(
    s3_server: S3Server, credentials_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_profile(credentials_file, "not-this-profile-key", "not-this-profile-secret")
    with credentials_file.open("a") as f:
        f.write(f"[framecast]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    monkeypatch.setenv("AWS_PROFILE", "framecast")
    store = make_media_store(s3_server.settings(tmp_path / "data", s3_access_key=None, s3_secret_key=None))
    assert isinstance(store, S3MediaStore)
    _round_trip(store, tmp_path)


def test_explicit_settings_win_over_the_environment(
    s3_server: S3Server, credentials_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "wrong-key-from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-from-env")
    store = make_media_store(s3_server.settings(tmp_path / "data"))  # FRAMECAST_S3_ACCESS_KEY/SECRET set
    assert isinstance(store, S3MediaStore)
    _round_trip(store, tmp_path)


def test_half_a_pair_of_explicit_keys_is_refused() -> None:
    with pytest.raises(InvalidInput, match="both"):
        S3Location.parse("s3://media", access_key="only-the-key")


def test_no_credentials_anywhere_is_a_503_that_says_so(
    s3_server: S3Server, credentials_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The IAM step would ask 169.254.169.254 off AWS; point it at a closed loopback port instead.
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{free_port()}/creds")
    store = _store(s3_server, tmp_path)
    with pytest.raises(Unavailable, match="No S3 credentials") as caught:
        store.ping()
    assert caught.value.code == "storage_down"


# -- rotation without a restart ------------------------------------------------------------------------


def test_a_rewritten_credentials_file_is_picked_up_without_a_restart(
    s3_server: S3Server, credentials_file: Path, tmp_path: Path
) -> None:
    _write_profile(credentials_file, ACCESS_KEY, SECRET_KEY)
    store = _store(s3_server, tmp_path, credential_chain(reread_file_s=1.0))
    _round_trip(store, tmp_path)

    _rotate_server_keys(s3_server)
    with pytest.raises(Unavailable):  # the old keys are really gone
        _store(s3_server, tmp_path, StaticProvider(ACCESS_KEY, SECRET_KEY)).ping()
    _write_profile(credentials_file, NEW_ACCESS_KEY, NEW_SECRET_KEY)

    _eventually(store.ping)
    _round_trip(store, tmp_path, "prj_1/ast_2/b.bin")
    assert store.credentials.retrieve().access_key == NEW_ACCESS_KEY


class _IamEndpoint:
    """An ECS-style container credentials endpoint handing out temporary keys that expire in seconds."""

    def __init__(self, access: str, secret: str, lifetime_s: float) -> None:
        self.keys = (access, secret)
        self.lifetime_s = lifetime_s
        self.calls = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.calls += 1
                expires = datetime.now(UTC) + timedelta(seconds=endpoint.lifetime_s)
                body = json.dumps(
                    {
                        "Code": "Success",
                        "AccessKeyId": endpoint.keys[0],
                        "SecretAccessKey": endpoint.keys[1],
                        "Token": f"session-{endpoint.calls}",
                        "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2/credentials"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def iam_endpoint(credentials_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_IamEndpoint]:
    # minio counts keys as expired 10 s early: 12 s of lifetime means "renew after about 2 s".
    endpoint = _IamEndpoint(ACCESS_KEY, SECRET_KEY, lifetime_s=12.0)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url)
    yield endpoint
    endpoint.close()


def test_temporary_keys_from_an_iam_endpoint_are_renewed_when_they_expire(
    s3_server: S3Server, iam_endpoint: _IamEndpoint, tmp_path: Path
) -> None:
    store = _store(s3_server, tmp_path)
    _round_trip(store, tmp_path)
    assert iam_endpoint.calls == 1, "unexpired keys are reused, not fetched per request"
    first = store.credentials.retrieve()
    assert first.expiration is not None and first.session_token == "session-1"

    _rotate_server_keys(s3_server)
    iam_endpoint.keys = (NEW_ACCESS_KEY, NEW_SECRET_KEY)

    _eventually(store.ping)
    _round_trip(store, tmp_path, "prj_1/ast_2/b.bin")
    assert iam_endpoint.calls >= 2
    assert store.credentials.retrieve().access_key == NEW_ACCESS_KEY


# -- the refresh rule, without a server ----------------------------------------------------------------


def test_file_keys_are_cached_until_their_stamped_expiry_then_read_again(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    _write_profile(path, "first-access-key", "first-secret")

    fresh = CredentialChain([RereadProvider(AWSConfigProvider(str(path)), 60.0)])
    assert fresh.retrieve().access_key == "first-access-key"
    stale = CredentialChain(
        [
            RereadProvider(
                AWSConfigProvider(str(path)), 60.0, now=lambda: datetime.now(UTC) - timedelta(hours=1)
            )
        ]
    )
    assert stale.retrieve().access_key == "first-access-key"

    _write_profile(path, "second-access-key", "second-secret")
    assert fresh.retrieve().access_key == "first-access-key", "within a minute: the cached keys"
    assert stale.retrieve().access_key == "second-access-key", "after its expiry: the file is read again"


def test_keys_with_their_own_expiry_keep_it() -> None:
    expires = datetime(2030, 1, 1, tzinfo=UTC)

    class Temporary(Provider):
        def retrieve(self) -> Credentials:
            return Credentials("temp-access-key", "temp-secret", "token", expiration=expires)

    got = RereadProvider(Temporary(), 60.0).retrieve()
    assert got.expiration == expires.replace(tzinfo=None) and got.session_token == "token"
