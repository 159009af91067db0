"""Dependencies as Annotated aliases: the runtime, the services and the caller's identity.

They are coroutines: FastAPI runs a plain ``def`` dependency in the thread pool, a hop per dependency per
request (at a reconnect storm, thousands of hops for work of a microsecond). Only an identity the
authenticator has to look up in the ledger goes to a thread.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from framecast.domain.identity import Caller
from framecast.runtime import Runtime
from framecast.services.projects import ProjectService
from framecast.services.uploads import UploadService
from framecast.services.webhooks import WebhookService
from framecast.web.auth import Authenticator


def _runtime(request: HTTPConnection) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    return _runtime(request)


async def get_service(request: Request) -> ProjectService:
    return _runtime(request).service


async def get_uploads(request: Request) -> UploadService:
    return _runtime(request).uploads


async def get_webhooks(request: Request) -> WebhookService:
    return _runtime(request).webhooks


def get_authenticator(request: HTTPConnection) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


async def resolve_caller(conn: HTTPConnection, *, allow_token: bool) -> Caller:
    """The caller of a request or WebSocket, from the event loop when nothing needs looking up."""
    auth = get_authenticator(conn)
    caller = auth.known_caller(conn, allow_token=allow_token)
    if caller is None:
        caller = await asyncio.to_thread(auth.caller, conn, allow_token=allow_token)
    return caller


async def get_caller(request: Request) -> Caller:
    """Who is calling (an API key, a session, the proxy's user, or the one owner); 401 otherwise."""
    return await resolve_caller(request, allow_token=False)


async def get_reader(request: Request) -> Caller:
    """Like ``get_caller``, and a delivery token is accepted too: for routes that read one project."""
    return await resolve_caller(request, allow_token=True)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServiceDep = Annotated[ProjectService, Depends(get_service)]
UploadsDep = Annotated[UploadService, Depends(get_uploads)]
WebhooksDep = Annotated[WebhookService, Depends(get_webhooks)]
CallerDep = Annotated[Caller, Depends(get_caller)]
ReaderDep = Annotated[Caller, Depends(get_reader)]
