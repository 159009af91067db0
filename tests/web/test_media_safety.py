"""A stored file can never run as a page on Framecast's origin, and shared caches never keep one owner's
file for the next person."""

from __future__ import annotations

import pytest
from web_support import ClientFactory, png_bytes

from framecast.domain.models import Asset


def _store(client: object, mime: str, filename: str, body: bytes) -> str:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    src = runtime.media.temp_dir() / "f"
    src.write_bytes(body)
    key = f"uploads/ast_{abs(hash(filename)) % 10**12:012d}/{filename}"
    runtime.media.put(src, key)
    asset = Asset(
        id=key.split("/")[1],
        kind="image",
        filename=filename,
        key=key,
        mime=mime,
        size=len(body),
        owner="local",
    )
    with runtime.ledger.transaction() as tx:
        tx.add_asset(asset)
    return asset.url


@pytest.mark.parametrize(
    ("mime", "filename", "body"),
    [
        ("text/html", "page.html", b"<script>alert(document.cookie)</script>"),
        (
            "image/svg+xml",
            "logo.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        ),
        ("application/octet-stream", "blob.bin", b"<html><script>alert(1)</script>"),
    ],
)
def test_anything_but_media_is_a_sandboxed_download(
    make_client: ClientFactory, mime: str, filename: str, body: bytes
) -> None:
    client = make_client()
    response = client.get(_store(client, mime, filename, body))
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


def test_images_play_inline_and_stay_out_of_shared_caches(make_client: ClientFactory) -> None:
    client = make_client()
    url = _store(client, "image/png", "a.png", png_bytes())
    response = client.get(url)
    assert response.headers["content-disposition"].startswith("inline")
    assert response.headers["cache-control"].startswith("private")
    assert "public" not in response.headers["cache-control"]
