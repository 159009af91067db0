"""Dependencies as Annotated aliases: the runtime, the services and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from framecast.runtime import Runtime
from framecast.services.projects import ProjectService
from framecast.services.uploads import UploadService


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_service(request: Request) -> ProjectService:
    return get_runtime(request).service


def get_uploads(request: Request) -> UploadService:
    return get_runtime(request).uploads


def get_owner(request: Request) -> str:
    # Single-user mode: every project belongs to the configured owner. Multi-user mode plugs in here.
    return get_runtime(request).settings.owner


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServiceDep = Annotated[ProjectService, Depends(get_service)]
UploadsDep = Annotated[UploadService, Depends(get_uploads)]
OwnerDep = Annotated[str, Depends(get_owner)]
