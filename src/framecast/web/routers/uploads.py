"""POST /api/uploads: stream the multipart file to a temp file within the size limit, hand it to the
upload service (type by content, decoded before it is accepted), answer the new asset."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse

from framecast.domain.errors import PayloadTooLarge, Unavailable
from framecast.services.access import writer
from framecast.web.deps import CallerDep, RuntimeDep, UploadsDep
from framecast.web.limits import limit_message
from framecast.web.openapi import WRITE, problems
from framecast.web.schemas import UploadPublic

router = APIRouter(prefix="/api/uploads", tags=["uploads"])


@router.post(
    "",
    status_code=201,
    response_model=UploadPublic,
    summary="Upload an image or audio file for use in timelines",
    responses=problems(*WRITE, 413, 415),
)
async def upload(
    file: Annotated[UploadFile, File(description="An image or audio file")],
    runtime: RuntimeDep,
    uploads: UploadsDep,
    caller: CallerDep,
) -> JSONResponse:
    limit = runtime.settings.max_upload_bytes
    tmp_dir = runtime.media.temp_dir()
    tmp = tmp_dir / "upload"
    size = 0
    try:
        try:
            with tmp.open("wb") as out:
                while chunk := await file.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(limit_message(limit, what="The file"))
                    out.write(chunk)
        except OSError as exc:  # the scratch disk is full or failing: an outage, not the caller's fault
            raise Unavailable(
                f"The upload could not be written to disk: {exc.strerror or exc.__class__.__name__}.",
                code="storage_down",
            ) from exc
        asset = await asyncio.to_thread(uploads.accept, tmp, filename=file.filename, owner=writer(caller))
    finally:
        tmp.unlink(missing_ok=True)
        os.rmdir(tmp_dir)
    body = {
        "asset_id": asset.id,
        "kind": asset.kind,
        "mime": asset.mime,
        "size": asset.size,
        "url": asset.url,
    }
    return JSONResponse(body, status_code=201)
