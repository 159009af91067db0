"""Dependencies as Annotated aliases: the runtime, the services and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from framecast.domain.identity import Caller
from framecast.runtime import Runtime
from framecast.services.projects import ProjectService
from framecast.services.uploads import UploadService
from framecast.services.webhooks import WebhookService
from framecast.web.auth import Authenticator


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_service(request: Request) -> ProjectService:
    return get_runtime(request).service


def get_uploads(request: Request) -> UploadService:
    return get_runtime(request).uploads


def get_webhooks(request: Request) -> WebhookService:
    return get_runtime(request).webhooks


def get_authenticator(request: HTTPConnection) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


def get_caller(request: Request) -> Caller:
    """Who is calling (an API key, a session, the proxy's user, or the one owner); 401 otherwise."""
    return get_authenticator(request).caller(request)


def get_reader(request: Request) -> Caller:
    """Like ``get_caller``, and a delivery token is accepted too: for routes that read one project."""
    return get_authenticator(request).caller(request, allow_token=True)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServiceDep = Annotated[ProjectService, Depends(get_service)]
UploadsDep = Annotated[UploadService, Depends(get_uploads)]
WebhooksDep = Annotated[WebhookService, Depends(get_webhooks)]
CallerDep = Annotated[Caller, Depends(get_caller)]
ReaderDep = Annotated[Caller, Depends(get_reader)]
