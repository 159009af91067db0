"""The media store contract, held by both stores: a local directory and a real S3-compatible server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from framecast.app_context import make_media_store
from framecast.domain.errors import NotFound, Unavailable
from framecast.media.local import LocalMediaStore
from framecast.services.ports import MediaStore
from framecast.settings import Settings
from tests.support.s3_server import S3Server


def _scratch_file(store: MediaStore, data: bytes) -> Path:
    path = store.temp_dir() / "upload.bin"
    path.write_bytes(data)
    return path


def test_put_then_fetch_round_trips_the_bytes(store: MediaStore, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    src = _scratch_file(store, data)
    assert store.put(src, "prj_1/ast_1/video.mp4") == len(data)
    assert not src.exists(), "put consumes its source"
    into = tmp_path / "into"
    into.mkdir()
    assert store.fetch("prj_1/ast_1/video.mp4", into).read_bytes() == data


def test_a_large_file_goes_up_in_parts_and_comes_back_whole(store: MediaStore, tmp_path: Path) -> None:
    data = os.urandom(12 * 1024 * 1024 + 17)  # above the client's 5 MiB multipart threshold
    store.put(_scratch_file(store, data), "prj_1/ast_1/big.mp4")
    assert store.stat("prj_1/ast_1/big.mp4").size == len(data)
    assert b"".join(store.open_range("prj_1/ast_1/big.mp4", 0, len(data))) == data


def test_read_returns_exactly_the_requested_range(store: MediaStore) -> None:
    data = bytes(range(256)) * 4000
    store.put(_scratch_file(store, data), "prj_1/ast_1/poster.jpg")
    assert b"".join(store.open_range("prj_1/ast_1/poster.jpg", 1000, 5000)) == data[1000:6000]
    assert b"".join(store.open_range("prj_1/ast_1/poster.jpg", len(data) - 10, 10)) == data[-10:]


def test_open_range_refuses_a_version_that_changed_after_stat(store: MediaStore) -> None:
    store.put(_scratch_file(store, b"version one, long enough"), "prj_1/ast_1/a.bin")
    old = store.stat("prj_1/ast_1/a.bin")
    assert b"".join(store.open_range("prj_1/ast_1/a.bin", 0, 7, etag=old.etag)) == b"version"
    store.put(_scratch_file(store, b"version two"), "prj_1/ast_1/a.bin")
    with pytest.raises(Unavailable) as caught:
        store.open_range("prj_1/ast_1/a.bin", 0, 7, etag=old.etag)
    assert caught.value.code == "asset_changed"


def test_open_range_raises_before_streaming_when_the_file_is_gone(store: MediaStore) -> None:
    with pytest.raises(NotFound):
        store.open_range("prj_1/ast_1/gone.bin", 0, 10)


def test_stat_gives_size_and_a_quoted_etag_that_changes_with_the_content(store: MediaStore) -> None:
    store.put(_scratch_file(store, b"first version"), "prj_1/ast_1/a.txt")
    first = store.stat("prj_1/ast_1/a.txt")
    store.put(_scratch_file(store, b"second, longer version"), "prj_1/ast_1/a.txt")
    second = store.stat("prj_1/ast_1/a.txt")
    assert first.size == len(b"first version") and second.size == len(b"second, longer version")
    assert first.etag.startswith('"') and first.etag.endswith('"')
    assert first.etag != second.etag


def test_missing_keys_are_not_found(store: MediaStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        store.stat("prj_1/ast_9/none.mp4")
    with pytest.raises(NotFound):
        store.fetch("prj_1/ast_9/none.mp4", tmp_path)
    store.delete("prj_1/ast_9/none.mp4")  # deleting what is not there is fine


@pytest.mark.parametrize(
    "key", ["../outside.txt", "prj_1/../../etc/passwd", "/etc/passwd", ".tmp/x", "a//b", "a\\b", "", "a/./b"]
)
def test_no_key_can_leave_the_store(store: MediaStore, key: str, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        store.fetch(key, tmp_path)
    with pytest.raises(NotFound):
        store.put(_scratch_file(store, b"x"), key)
    with pytest.raises(NotFound):
        store.local_file(key)


def test_delete_prefix_removes_one_project_and_nothing_else(store: MediaStore) -> None:
    for key in ("prj_1/a/video.mp4", "prj_1/b/poster.jpg", "prj_10/a/video.mp4", "prj_2/a/video.mp4"):
        store.put(_scratch_file(store, key.encode()), key)
    store.delete_prefix("prj_1")
    for gone in ("prj_1/a/video.mp4", "prj_1/b/poster.jpg"):
        with pytest.raises(NotFound):
            store.stat(gone)
    for kept in ("prj_10/a/video.mp4", "prj_2/a/video.mp4"):
        assert store.stat(kept).size == len(kept)
    with pytest.raises(NotFound):
        store.delete_prefix("")


def test_delete_removes_one_key(store: MediaStore) -> None:
    store.put(_scratch_file(store, b"chunk"), "prj_1/work/chunk-00000.mp4")
    store.delete("prj_1/work/chunk-00000.mp4")
    with pytest.raises(NotFound):
        store.stat("prj_1/work/chunk-00000.mp4")


def test_ping_passes_on_a_healthy_store(store: MediaStore) -> None:
    store.ping()


def test_s3_objects_live_under_the_configured_prefix(s3_server: S3Server, tmp_path: Path) -> None:
    store = make_media_store(s3_server.settings(tmp_path / "data", "s3://media/deploy-a"))
    store.put(_scratch_file(store, b"hello"), "prj_1/ast_1/poster.jpg")
    assert s3_server.objects("media") == {"deploy-a/prj_1/ast_1/poster.jpg": 5}
    assert store.local_file("prj_1/ast_1/poster.jpg") is None  # served by streaming, not from disk


def test_s3_ping_names_a_missing_bucket(s3_server: S3Server, tmp_path: Path) -> None:
    store = make_media_store(s3_server.settings(tmp_path / "data", "s3://no-such-bucket"))
    with pytest.raises(Unavailable, match="no-such-bucket"):
        store.ping()


def test_s3_wrong_credentials_and_a_dead_endpoint_are_unavailable(
    s3_server: S3Server, tmp_path: Path
) -> None:
    wrong = make_media_store(s3_server.settings(tmp_path / "a", "s3://media", s3_secret_key="not-the-secret"))
    with pytest.raises(Unavailable, match="storage"):
        wrong.ping()
    s3_server.stop()
    dead = make_media_store(s3_server.settings(tmp_path / "b", "s3://media"))
    with pytest.raises(Unavailable, match="storage"):
        dead.ping()


def test_local_store_is_the_default(tmp_path: Path) -> None:
    store = make_media_store(Settings(data_dir=tmp_path / "data"))
    assert isinstance(store, LocalMediaStore)
    assert store.root == (tmp_path / "data" / "media").resolve()


def test_a_failing_local_directory_is_storage_down_not_an_oserror(tmp_path: Path) -> None:
    # Root ignores permissions, so the directory is broken by putting files where directories must be.
    store = LocalMediaStore(tmp_path / "media")
    src = _scratch_file(store, b"frame")
    (store.root / "prj_1").write_bytes(b"not a directory")
    with pytest.raises(Unavailable) as caught:
        store.put(src, "prj_1/ast_1/video.mp4")
    assert caught.value.code == "storage_down"
    scratch = store.root / ".tmp"
    os.rename(scratch, tmp_path / "scratch.away")
    scratch.write_bytes(b"not a directory")
    for use in (store.temp_dir, store.ping):
        with pytest.raises(Unavailable) as caught:
            use()
        assert caught.value.code == "storage_down"
