"""What ``/openapi.json`` says about errors and streams, in one place.

Routes declare their error answers with ``problems(401, 404, …)``: each is a ``Problem`` body, sent as
``application/problem+json`` (``web.errors.problem``), with the headers it carries (``Retry-After``,
``WWW-Authenticate``). FastAPI documents a 422 ``HTTPValidationError`` of its own for any route with
parameters unless the route names a 422; ``web.errors`` answers validation errors as a ``Problem``, so every
route that validates input names its 422 here. ``install`` makes FastAPI's document say
``application/problem+json`` (FastAPI writes ``model=`` bodies under ``application/json``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from framecast.web.schemas import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"

_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}
}

#: What each error status means on this API (its stable codes), and the headers that come with it.
_PROBLEMS: dict[int, tuple[str, dict[str, Any]]] = {
    401: (
        "unauthenticated: no credentials, or a key, session or token that is not valid.",
        {"WWW-Authenticate": {"description": 'Bearer realm="framecast"', "schema": {"type": "string"}}},
    ),
    403: ("cross_site_request: a state change from another site (FRAMECAST_ALLOWED_ORIGINS).", {}),
    404: ("Not found (project_not_found, asset_not_found, …); another owner's answers the same.", {}),
    409: ("The project's state does not allow this now.", {}),
    413: ("payload_too_large: the body is over the limit.", {}),
    415: ("unsupported_media: the file's content is not a supported image or audio type.", {}),
    416: ("range_not_satisfiable: no requested range overlaps the file (Content-Range: bytes */size).", {}),
    421: ("host_not_allowed: the Host header is not one this server answers (FRAMECAST_ALLOWED_HOSTS).", {}),
    422: ("invalid_input (or a more specific code): the field at fault and a sentence to act on.", {}),
    429: ("quota_exceeded: a per-owner or service-wide limit is reached.", _RETRY_AFTER),
    503: ("service_unavailable: the database, broker or storage is down; cause says which.", _RETRY_AFTER),
}


def problems(*statuses: int, **notes: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route's error answers. A note replaces a status's description, keyed
    ``s409="not_retryable: …"`` (Python names cannot start with a digit).

    >>> sorted(problems(404, 503))
    [404, 503]
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, headers = _PROBLEMS[status]
        entry: dict[str, Any] = {"model": Problem, "description": notes.get(f"s{status}", description)}
        if headers:
            entry["headers"] = headers
        responses[status] = entry
    return responses


#: Every route is behind the Host check and may meet an outage.
COMMON = (421, 503)
#: A route that needs a caller (any auth mode but none may answer 401).
READ = (401, *COMMON)
#: A state change: also refused cross-site, and its body or parameters validated.
WRITE = (401, 403, 422, *COMMON)


def _problem_media_types(document: dict[str, Any]) -> None:
    ref = "#/components/schemas/Problem"
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] not in "45":
                    continue
                # FastAPI writes a model= body under the route's own media type (text/html for the page)
                for media_type, body in list(content.items()):
                    if body.get("schema", {}).get("$ref") == ref:
                        content[PROBLEM_MEDIA_TYPE] = content.pop(media_type)


def install(app: FastAPI) -> None:
    """Build the document once, as FastAPI does, with the error bodies under their own media type."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _problem_media_types(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
