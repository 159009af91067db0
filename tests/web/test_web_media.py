"""POST /api/uploads (type by content, size limits) and GET /media (types, ETag, ranges, no traversal).

Every test here runs twice: media in a local directory, and media in a real S3-compatible server
(uploads go to the bucket; /media streams the object back).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from tests.support.audio import encoded_audio, wav_file
from web_support import ClientFactory, TestClient, assert_problem, png_bytes, wav_bytes

from framecast.domain.identity import Caller


@pytest.fixture(params=["local", "s3"])
def client(request: pytest.FixtureRequest, make_client: ClientFactory) -> TestClient:
    if request.param == "local":
        return make_client()
    from tests.support.s3_server import ACCESS_KEY, SECRET_KEY

    server = request.getfixturevalue("s3_server")
    return make_client(
        media_url="s3://media/web",
        s3_endpoint_url=server.endpoint,
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SECRET_KEY,
    )


def _upload(client: TestClient, name: str, content: bytes, mime: str = "application/octet-stream") -> Any:
    return client.post("/api/uploads", files={"file": (name, content, mime)})


def _uploaded_png(client: TestClient) -> tuple[dict[str, Any], bytes]:
    content = png_bytes((40, 20))
    response = _upload(client, "picture.png", content, "image/png")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body, content


# -- uploads --------------------------------------------------------------------------------------------


def test_png_upload(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    assert body["asset_id"].startswith("ast")
    assert body["kind"] == "image"
    assert body["mime"] == "image/png"
    assert body["size"] == len(content)
    assert body["url"].startswith(f"/media/{body['asset_id']}/")


def test_type_comes_from_content_not_name(client: TestClient) -> None:
    response = _upload(client, "holiday.txt", png_bytes(), "text/plain")
    assert response.status_code == 201
    assert response.json()["mime"] == "image/png"
    assert response.json()["url"].endswith(".png")


def test_wav_upload_is_audio(client: TestClient) -> None:
    response = _upload(client, "voice.wav", wav_bytes(), "audio/wav")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "audio" and body["mime"] == "audio/wav"


@pytest.mark.parametrize(
    ("ext", "mime"), [("mp3", "audio/mpeg"), ("flac", "audio/flac"), ("m4a", "audio/mp4")]
)
def test_encoded_audio_upload_is_accepted(client: TestClient, ext: str, mime: str) -> None:
    content = encoded_audio(ext)
    response = _upload(client, f"tune.{ext}", content)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"asset_id", "kind", "mime", "size", "url"}
    assert (body["kind"], body["mime"], body["size"]) == ("audio", mime, len(content))
    assert body["url"] == f"/media/{body['asset_id']}/tune.{ext}"
    assert client.get(body["url"]).content == content


@pytest.mark.parametrize("ext", ["wav", "mp3", "ogg", "flac", "m4a"])
def test_audio_that_only_starts_like_audio_is_415(client: TestClient, ext: str) -> None:
    real = wav_file() if ext == "wav" else encoded_audio(ext)
    fake = real[:16] + random.Random(ext).randbytes(20_000)  # the magic bytes, then garbage
    problem = assert_problem(
        _upload(client, f"fake.{ext}", fake), 415, "unsupported_media_type", field="file"
    )
    assert "does not decode" in problem["message"]


def test_wav_header_without_samples_is_415(client: TestClient) -> None:
    response = _upload(client, "empty.wav", wav_file()[:44], "audio/wav")
    problem = assert_problem(response, 415, "unsupported_media_type")
    assert "WAV" in problem["message"]


def test_text_renamed_png_is_415(client: TestClient) -> None:
    response = _upload(client, "fake.png", b"this is only text, not an image\n" * 10, "image/png")
    problem = assert_problem(response, 415, "unsupported_media_type")
    assert "image" in problem["message"] and "audio" in problem["message"]


def test_empty_file_is_422(client: TestClient) -> None:
    problem = assert_problem(
        _upload(client, "empty.png", b"", "image/png"), 422, "invalid_input", field="file"
    )
    assert "empty" in problem["message"]


def test_missing_file_field_is_422(client: TestClient) -> None:
    response = client.post("/api/uploads", files={"other": ("a.png", png_bytes(), "image/png")})
    assert_problem(response, 422, "invalid_input", field="file")


def test_not_multipart_is_422(client: TestClient) -> None:
    response = client.post("/api/uploads", json={"file": "abc"})
    assert_problem(response, 422, "invalid_input", field="file")


def test_garbage_multipart_is_4xx(client: TestClient) -> None:
    response = client.post(
        "/api/uploads",
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end',
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


def test_upload_over_the_limit_is_413(make_client: ClientFactory) -> None:
    client = make_client(max_upload_bytes=10_000)
    content = png_bytes() + b"\0" * 20_000  # over the file limit, under the request limit (+ multipart slack)
    problem = assert_problem(_upload(client, "big.png", content, "image/png"), 413, "payload_too_large")
    assert "upload" in problem["message"] or "file" in problem["message"]


def test_upload_request_far_over_the_limit_is_413(make_client: ClientFactory) -> None:
    client = make_client(max_upload_bytes=10_000)
    content = png_bytes() + b"\0" * 200_000
    assert_problem(_upload(client, "big.png", content, "image/png"), 413, "payload_too_large")


def _chunked_multipart(content: bytes) -> tuple[Any, dict[str, str]]:
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + content + b"\r\n--xyz--\r\n"
    )

    def chunks() -> Any:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    return chunks(), {"Content-Type": "multipart/form-data; boundary=xyz"}


def test_chunked_upload_far_over_the_limit_is_4xx(make_client: ClientFactory) -> None:
    client = make_client(max_upload_bytes=10_000)
    content, headers = _chunked_multipart(png_bytes() + b"\0" * 200_000)
    response = client.post("/api/uploads", content=content, headers=headers)
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


def test_chunked_upload_far_over_the_limit_is_413(make_client: ClientFactory) -> None:
    client = make_client(max_upload_bytes=10_000)
    content, headers = _chunked_multipart(png_bytes() + b"\0" * 200_000)
    response = client.post("/api/uploads", content=content, headers=headers)
    assert_problem(response, 413, "payload_too_large")


def test_chunked_upload_within_the_limit_is_accepted(make_client: ClientFactory) -> None:
    client = make_client(max_upload_bytes=10_000)
    content, headers = _chunked_multipart(png_bytes())
    response = client.post("/api/uploads", content=content, headers=headers)
    assert response.status_code == 201, response.text


def test_upload_limit_message_states_the_real_limit(make_client: ClientFactory) -> None:
    client = make_client(max_upload_bytes=10_000)
    content = png_bytes() + b"\0" * 20_000
    problem = assert_problem(_upload(client, "big.png", content, "image/png"), 413, "payload_too_large")
    assert "0 MB" not in problem["message"]


def test_upload_at_exactly_the_limit_is_accepted(make_client: ClientFactory) -> None:
    client = make_client(max_upload_bytes=10_000)
    content = png_bytes()
    content += b"\0" * (10_000 - len(content))
    response = _upload(client, "exact.png", content, "image/png")
    assert response.status_code == 201, response.text
    assert response.json()["size"] == 10_000


def test_failed_uploads_leave_no_temp_files(make_client: ClientFactory, tmp_path: Path) -> None:
    client = make_client(max_upload_bytes=10_000)
    _upload(client, "fake.png", b"text", "image/png")
    _upload(client, "empty.png", b"", "image/png")
    _upload(client, "big.png", png_bytes() + b"\0" * 20_000, "image/png")
    _upload(client, "fake.mp3", b"ID3" + b"\x01" * 500, "audio/mpeg")
    leftovers = [p for p in (tmp_path / "data0" / "media" / ".tmp").rglob("*")]
    assert leftovers == []


# -- media ----------------------------------------------------------------------------------------------


def test_uploaded_png_is_served_back(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    response = client.get(body["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["etag"]
    assert response.headers.get("accept-ranges") == "bytes"
    assert response.content == content


def test_media_if_none_match_is_304(client: TestClient) -> None:
    body, _ = _uploaded_png(client)
    etag = client.get(body["url"]).headers["etag"]
    assert client.get(body["url"], headers={"If-None-Match": etag}).status_code == 304


def test_media_range_request_is_206(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    response = client.get(body["url"], headers={"Range": "bytes=0-9"})
    assert response.status_code == 206
    assert response.content == content[:10]
    assert response.headers["content-range"] == f"bytes 0-9/{len(content)}"
    assert response.headers["content-type"] == "image/png"


def test_media_suffix_range(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    response = client.get(body["url"], headers={"Range": "bytes=-5"})
    assert response.status_code == 206
    assert response.content == content[-5:]


@pytest.mark.parametrize("spec", ["bytes={size}-", "bytes=-0", "bytes={size}-{far}, {far}-"])
def test_media_unsatisfiable_range_is_416_problem_json(client: TestClient, spec: str) -> None:
    body, content = _uploaded_png(client)
    size = len(content)
    response = client.get(body["url"], headers={"Range": spec.format(size=size, far=size + 10)})
    assert_problem(response, 416, "range_not_satisfiable")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-range"] == f"bytes */{size}"


@pytest.mark.parametrize(
    "spec",
    [
        "items=0-1",  # a unit the server does not know: ignored (RFC 9110 §14.2)
        "Items=0-1",
        "bytes=5-2",
        "bytes=abc",
        "bytes=0-1_0",
        "bytes=١-٢",
        "bytes=+1-2",
        "bytes=0x1-2",
        "bytes=-",
        "bytes=",
        "bytes 0-1",
        "0-1",
        ",".join(["bytes=0-0"] + [f"{2 * i}-{2 * i}" for i in range(1, 120)]),  # too many ranges
    ],
)
def test_media_range_it_cannot_use_is_ignored_whole_file_200(client: TestClient, spec: str) -> None:
    body, content = _uploaded_png(client)
    response = client.get(body["url"], headers={"Range": spec.encode()})
    assert response.status_code == 200, (response.status_code, response.text[:200])
    assert response.content == content
    assert "content-range" not in response.headers


def _multipart(response: Any) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/byteranges body: (headers, bytes)."""
    kind, _, param = response.headers["content-type"].partition("; boundary=")
    assert kind == "multipart/byteranges" and param
    delimiter = f"--{param}".encode()
    raw = response.content
    assert raw.startswith(delimiter) and raw.endswith(delimiter + b"--")
    parts = []
    for chunk in raw[: -len(delimiter) - 2].split(delimiter)[1:]:
        # each part: CRLF, its headers, a blank line, the bytes; the CRLF after them belongs to the delimiter
        head, _, data = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n").partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append(({k.lower(): v for k, v in fields.items()}, data))
    return parts


def test_media_several_ranges_are_multipart_byteranges(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    size = len(content)
    response = client.get(body["url"], headers={"Range": "bytes=20-29, 0-4, -3"})
    assert response.status_code == 206
    assert response.headers["content-length"] == str(len(response.content))
    assert "content-range" not in response.headers
    parts = _multipart(response)
    assert [h["content-range"] for h, _ in parts] == [
        f"bytes 0-4/{size}",
        f"bytes 20-29/{size}",
        f"bytes {size - 3}-{size - 1}/{size}",
    ]
    assert [data for _, data in parts] == [content[0:5], content[20:30], content[-3:]]
    assert all(h["content-type"] == "image/png" for h, _ in parts)
    head = client.head(body["url"], headers={"Range": "bytes=20-29, 0-4, -3"})
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-type"].startswith("multipart/byteranges; boundary=")
    # the boundary is new for every response, so only the length's digits may differ with it
    assert abs(int(head.headers["content-length"]) - len(response.content)) < 8


def test_media_several_ranges_with_one_past_the_end_serve_the_satisfiable_ones(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    size = len(content)
    response = client.get(body["url"], headers={"Range": f"bytes=0-4, {size + 100}-"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 0-4/{size}" and response.content == content[:5]
    response = client.get(body["url"], headers={"Range": f"bytes=0-1, 4-5, {size}-{size + 5}"})
    assert response.status_code == 206
    assert [data for _, data in _multipart(response)] == [content[0:2], content[4:6]]


def test_media_overlapping_or_adjacent_ranges_are_merged_into_one(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    for spec in ("bytes=0-9, 5-14", "bytes=0-9,10-14", "bytes=10-14, 0-12, 3-4"):
        response = client.get(body["url"], headers={"Range": spec})
        assert response.status_code == 206, spec
        assert response.headers["content-range"] == f"bytes 0-14/{len(content)}", spec
        assert response.content == content[:15]


def test_media_range_with_spaces_and_empty_elements_is_read(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    response = client.get(body["url"], headers={"Range": "bytes= 2-3 ,, "})
    assert response.status_code == 206 and response.content == content[2:4]


def test_media_weak_if_range_gets_the_whole_file(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    etag = client.get(body["url"]).headers["etag"]
    response = client.get(body["url"], headers={"Range": "bytes=0-9", "If-Range": f"W/{etag}"})
    assert response.status_code == 200 and response.content == content


def test_media_open_ended_and_clamped_ranges(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    tail = client.get(body["url"], headers={"Range": "bytes=20-"})
    assert tail.status_code == 206 and tail.content == content[20:]
    clamped = client.get(body["url"], headers={"Range": f"bytes=5-{len(content) + 1000}"})
    assert clamped.status_code == 206 and clamped.content == content[5:]
    assert clamped.headers["content-range"] == f"bytes 5-{len(content) - 1}/{len(content)}"


def test_media_if_range_with_an_old_etag_gets_the_whole_file(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    response = client.get(body["url"], headers={"Range": "bytes=0-9", "If-Range": '"not-the-etag"'})
    assert response.status_code == 200 and response.content == content


def test_media_if_range_with_the_current_etag_gets_the_range(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    etag = client.get(body["url"]).headers["etag"]
    response = client.get(body["url"], headers={"Range": "bytes=2-11", "If-Range": etag})
    assert response.status_code == 206 and response.content == content[2:12]


def test_media_head_gives_the_headers_without_the_body(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    response = client.head(body["url"])
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["content-type"] == "image/png" and response.headers["etag"]
    assert response.content == b""
    ranged = client.head(body["url"], headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.headers["content-range"] == f"bytes 0-9/{len(content)}"


def test_media_range_with_absurd_numbers_is_not_an_error(client: TestClient) -> None:
    body, content = _uploaded_png(client)
    response = client.get(body["url"], headers={"Range": "bytes=" + "9" * 5000 + "-"})
    assert_problem(response, 416, "range_not_satisfiable")  # a start past the end
    response = client.get(body["url"], headers={"Range": "bytes=2-" + "9" * 5000})
    assert response.status_code == 206 and response.content == content[2:]
    response = client.get(body["url"], headers={"Range": "bytes=-" + "9" * 5000})
    assert response.status_code == 206 and response.content == content


def test_media_whose_file_vanished_from_storage_is_404_not_an_empty_200(client: TestClient) -> None:
    body, _ = _uploaded_png(client)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    asset = runtime.service.asset(body["asset_id"], caller=Caller("local"))
    runtime.media.delete(asset.key)
    assert_problem(client.get(body["url"]), 404, "asset_missing")


def test_unknown_asset_is_404(client: TestClient) -> None:
    assert_problem(client.get("/media/ast_nope/video.mp4"), 404, "asset_not_found")


def test_wrong_filename_for_a_real_asset_is_404(client: TestClient) -> None:
    body, _ = _uploaded_png(client)
    assert_problem(client.get(f"/media/{body['asset_id']}/other.png"), 404, "asset_not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/media/..%2F..%2Fetc/passwd",
        "/media/x/..%2F..%2F..%2Fetc%2Fpasswd",
        "/media/%2E%2E/%2E%2E%2Fetc%2Fpasswd",
        "/media/%2e%2e%2f%2e%2e%2fetc/passwd",
        "/media/..%5C..%5Cetc/passwd",
        "/media/x/%2Fetc%2Fpasswd",
        "/media/.tmp/upload",
        "/media/uploads/passwd",
    ],
)
def test_path_traversal_is_404_without_content(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"root:" not in response.content
    assert_problem(response, 404)


@pytest.mark.parametrize(
    "suffix",
    ["..%2F..%2F..%2F..%2Fetc%2Fpasswd", "..%2Fpicture.png", "%2E%2E%2Fframecast.db", "picture.png%00.txt"],
)
def test_traversal_behind_a_real_asset_id_is_404(client: TestClient, suffix: str) -> None:
    body, _ = _uploaded_png(client)
    response = client.get(f"/media/{body['asset_id']}/{suffix}")
    assert response.status_code == 404
    assert b"root:" not in response.content and b"SQLite" not in response.content
