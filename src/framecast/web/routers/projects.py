"""Projects: create (with Idempotency-Key), snapshot (ETag/304), cancel, retry, delete, delivered."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from framecast.domain.models import iso
from framecast.domain.options import ProjectRequest
from framecast.logs import annotate
from framecast.services.identity import MAX_TOKEN_TTL_S
from framecast.web.deps import CallerDep, ReaderDep, RuntimeDep, ServiceDep
from framecast.web.openapi import READ, WRITE, problems
from framecast.web.schemas import ProjectPublic, TokenPublic

router = APIRouter(prefix="/api/projects", tags=["projects"])

ProjectId = Annotated[str, Field(min_length=1, max_length=64)]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ttl_s: int | None = Field(
        None, ge=1, le=MAX_TOKEN_TTL_S, description="Lifetime in seconds (default 3600, at most 86400)."
    )


class DeliveredBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int | None = Field(None, ge=0, description="The last seq the client showed.")


def _etag(snapshot: dict[str, Any]) -> str:
    body = {k: v for k, v in snapshot.items() if k != "next_poll_ms"}
    digest = hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return f'W/"{digest}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison against an If-None-Match list (or ``*``)."""
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


@router.post(
    "",
    status_code=201,
    response_model=ProjectPublic,
    summary="Create a project from a prompt or a timeline",
    responses={
        200: {"model": ProjectPublic, "description": "This Idempotency-Key already made this project."},
        **problems(
            *WRITE,
            409,
            413,
            429,
            s409="idempotency_key_reused: the Idempotency-Key was used with another body.",
        ),
    },
)
def create_project(
    body: ProjectRequest,
    service: ServiceDep,
    caller: CallerDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> JSONResponse:
    project, created = service.submit(body, caller=caller, idempotency_key=idempotency_key)
    annotate(project_id=project.id)  # the access line of this request names the project it made
    snapshot = service.snapshot(project.id, caller=caller)
    return JSONResponse(
        snapshot,
        status_code=201 if created else 200,
        headers={"Location": f"/api/projects/{project.id}", "ETag": _etag(snapshot)},
    )


@router.head("/{project_id}", include_in_schema=False)
@router.get(
    "/{project_id}",
    response_model=ProjectPublic,
    summary="The project's full state (ETag; 304 on If-None-Match)",
    responses={
        304: {"description": "If-None-Match matched the ETag: nothing changed."},
        **problems(*READ, 404, 422),
    },
)
def get_project(project_id: ProjectId, request: Request, service: ServiceDep, caller: ReaderDep) -> Response:
    snapshot = service.snapshot(project_id, caller=caller)
    etag = _etag(snapshot)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(snapshot, headers=headers)


@router.post(
    "/{project_id}/cancel",
    response_model=ProjectPublic,
    summary="Cancel queued or running work",
    responses=problems(*WRITE, 404, 409, s409="already_completed: a completed project cannot be cancelled."),
)
def cancel_project(project_id: ProjectId, service: ServiceDep, caller: CallerDep) -> dict[str, Any]:
    return service.cancel(project_id, caller=caller)


@router.post(
    "/{project_id}/retry",
    response_model=ProjectPublic,
    summary="Re-run a failed or cancelled project from the failed step",
    responses=problems(*WRITE, 404, 409, s409="not_retryable: only a failed or cancelled project."),
)
def retry_project(project_id: ProjectId, service: ServiceDep, caller: CallerDep) -> dict[str, Any]:
    return service.retry(project_id, caller=caller)


@router.delete(
    "/{project_id}",
    status_code=204,
    response_class=Response,
    summary="Delete the project and its files",
    responses=problems(*WRITE, 404),
)
def delete_project(project_id: ProjectId, service: ServiceDep, caller: CallerDep) -> Response:
    service.delete(project_id, caller=caller)
    return Response(status_code=204)


@router.post(
    "/{project_id}/delivered",
    response_model=ProjectPublic,
    summary="The client confirms it showed the result",
    responses=problems(*WRITE, 404, 413),
)
def delivered(
    project_id: ProjectId, service: ServiceDep, caller: ReaderDep, body: DeliveredBody | None = None
) -> dict[str, Any]:
    return service.deliver(project_id, caller=caller, seq=body.seq if body else None)


@router.post(
    "/{project_id}/tokens",
    status_code=201,
    response_model=TokenPublic,
    summary="A short-lived token that reads this one project (for a browser that cannot send headers)",
    responses=problems(*WRITE, 404, 413),
)
def create_token(
    project_id: ProjectId,
    runtime: RuntimeDep,
    caller: CallerDep,
    body: TokenCreate | None = None,
) -> dict[str, Any]:
    project = runtime.service.project(project_id, caller=caller)  # the owner check: 404 for another's
    issued = runtime.tokens.issue(project.id, project.owner, ttl_s=body.ttl_s if body else None)
    return {"token": issued.token, "expires_at": iso(issued.expires_at), "project_id": project.id}
