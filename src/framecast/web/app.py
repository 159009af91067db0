"""The app factory: ``create_app(runtime)`` wires routers, error handlers, request ids, limits, metrics,
static files and the hub's life."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from framecast import __version__
from framecast.runtime import Runtime
from framecast.services.shared_reads import SharedReads
from framecast.web import errors, openapi, stream_route
from framecast.web.auth import AuthenticateBeforeTheBody, Authenticator
from framecast.web.guards import BrowserGuard, allowed_hosts
from framecast.web.limits import BodyLimitMiddleware
from framecast.web.metrics import Metrics
from framecast.web.request_id import RequestIdMiddleware
from framecast.web.routers import (
    deliveries,
    engines,
    events,
    health,
    media,
    metrics,
    page,
    projects,
    session,
    uploads,
    videos,
    webhooks,
)


def create_app(runtime: Runtime) -> FastAPI:
    """Build the ASGI app over a runtime the caller built (``app_context.build_runtime``).

    >>> app = create_app(build_runtime(Settings(data_dir=Path("data"))))   # doctest: +SKIP
    """
    hub = runtime.hub

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Thousands of idle streams keep many long-lived objects; with the default thresholds the cyclic
        # GC walks them all often enough to stall event delivery. Freeze what start-up made and collect
        # the young generation less often.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        hub.start()
        try:
            yield
        finally:
            hub.stop()

    app = FastAPI(
        title="Framecast",
        version=__version__,
        description="Prompt or timeline in, MP4 out; progress and the result delivered over SSE, WebSocket "
        "or polling. The contract is in DESIGN.md. Every body is typed here, errors too (`Problem`, as "
        "`application/problem+json`), so a generated client is typed (docs/api.md). The WebSocket "
        "`GET /api/projects/{project_id}/ws?after=N`, which OpenAPI cannot describe, sends the same "
        "`EventEnvelope`s as text frames.",
        lifespan=lifespan,
        # operationId = the route function's name (create_project, get_project…), so a generated client's
        # calls read like the API instead of create_project_api_projects_post.
        generate_unique_id_function=lambda route: route.name,
    )
    settings = runtime.settings
    app.state.runtime = runtime
    app.state.auth = Authenticator(settings, runtime.keys, runtime.sessions, runtime.tokens)
    app.state.metrics = Metrics(runtime.stats, runtime.queue)
    # Streams of one project opening together share their reads (a reconnect storm: 200 openers, 1 read).
    app.state.reads = SharedReads(runtime.ledger, runtime.event_log)
    errors.install(app)
    openapi.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.max_upload_bytes,
    )
    # Who is asking, before any body is read (keys and proxy mode): the anonymous get 401 for nothing.
    app.add_middleware(
        AuthenticateBeforeTheBody, authenticator=app.state.auth, public=frozenset({"/api/session"})
    )
    # A foreign Host or a cross-site change is refused before anything else reads the request.
    app.add_middleware(
        BrowserGuard,
        hosts=allowed_hosts(settings.host, settings.allowed_hosts),
        origins=settings.allowed_origins,
        trusted_proxies=settings.trusted_proxies,
    )
    # Outermost: every answer, the guard's refusals too, carries X-Request-ID, and every log record of
    # the request its id.
    app.add_middleware(RequestIdMiddleware)
    for router in (
        session.router,
        projects.router,
        engines.router,
        deliveries.router,
        webhooks.router,
        events.router,
        uploads.router,
        videos.router,
        media.router,
        health.router,
        metrics.router,
        page.router,
    ):
        app.include_router(router)
    # First, so that SSE opens skip matching every other route (see web.stream_route).
    app.router.routes.insert(0, stream_route.route())
    if page.STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static")
    return app
