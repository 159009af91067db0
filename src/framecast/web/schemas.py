"""The bodies the API sends, as pydantic models named by direction (``ProjectPublic`` goes out; the bodies
that come in, ``ProjectRequest`` and friends, sit with the routes or in ``domain.options``).

Every route names its model (``response_model=``), so ``/openapi.json`` describes every 2xx and error body
and a generated client gets classes, not ``Any``. The services build these bodies as plain dicts
(``domain.models`` ``public()``, ``services.snapshots``), the same ones webhooks carry; the models describe
them key for key (``extra="forbid"``: a key the model does not name fails validation), and
``tests/web/test_openapi_contract.py`` validates the live responses of a whole project's life against them.

Timestamps are ISO 8601 strings in UTC with milliseconds (``2026-11-24T03:41:07.123Z``), as
``domain.models.iso`` writes them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from framecast.domain.engines import EngineInfo
from framecast.domain.identity import AuthMode
from framecast.domain.options import Aspect, Fps, Resolution, Style
from framecast.domain.status import Status
from framecast.domain.webhooks import Delivery, WebhookEndpoint

Timestamp = str


class Public(BaseModel):
    """A body the API sends: exactly the keys it names."""

    model_config = ConfigDict(extra="forbid")


# -- errors -----------------------------------------------------------------------------------------------


class FieldProblem(Public):
    field: str | None = Field(description="The field at fault (dotted path), or null for the whole body.")
    message: str


class Problem(BaseModel):
    """Every error answer (``application/problem+json``, RFC 9457 in spirit): a stable machine ``code``
    and a ``message`` a person can act on. Extension members depend on the error."""

    model_config = ConfigDict(extra="allow")

    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(
        description="Stable: unauthenticated, cross_site_request, host_not_allowed, project_not_found, "
        "invalid_input, webhook_url_not_allowed, quota_exceeded, service_unavailable, …"
    )
    message: str
    field: str | None = Field(None, description="422: the first field at fault.")
    errors: list[FieldProblem] | None = Field(None, description="422: every field at fault.")
    cause: str | None = Field(None, description="503: what is down (database_down, broker_down, …).")
    limit: str | None = Field(None, description="429: which quota was reached.")
    request_id: str | None = Field(None, description="The X-Request-ID of this request, for the logs.")


class ErrorPublic(BaseModel):
    """Why a project or a task failed or was cancelled (``{code, message}``; ``field`` when an input was
    at fault; ``retry_after_s`` when a hosted provider said how long to wait: ``provider_rate_limited``)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


# -- projects ---------------------------------------------------------------------------------------------


class OptionsPublic(Public):
    """The video options the project runs with (every one filled in, defaults included)."""

    duration_s: float
    aspect: Aspect
    resolution: Resolution
    fps: Fps
    seed: int | None
    style: Style | None
    voiceover: bool
    engine: str = Field(description="The engine that makes the video (GET /api/engines lists them).")


class TaskPublic(Public):
    id: str
    kind: str = Field(description="plan, narration, render, render_chunk, compose, poster, generate, …")
    status: Status
    terminal: bool
    progress: float = Field(ge=0, le=1)
    attempt: int
    error: ErrorPublic | None
    depends_on: list[str]
    started_at: Timestamp | None
    finished_at: Timestamp | None


class AssetPublic(Public):
    """A stored file, served at ``url`` (``/media/{id}/{filename}``)."""

    id: str
    kind: str = Field(description="video, poster, spritesheet, audio or image")
    url: str
    filename: str
    mime: str
    size: int
    task_id: str | None
    meta: dict[str, Any] = Field(description="What is known of the file: width, height, duration_s, …")
    created_at: Timestamp | None


class ResultPublic(Public):
    """A completed project's video (the ``render_result`` event's ``object``)."""

    url: str
    poster_url: str | None
    duration_s: float | None
    width: int | None
    height: int | None
    asset_id: str


class ProjectPublic(Public):
    """The snapshot: the project's full state (``GET /api/projects/{id}``; webhooks carry the same)."""

    id: str
    status: Status
    terminal: bool
    prompt: str | None
    options: OptionsPublic
    progress: float = Field(ge=0, le=1, description="The whole project's progress, 0..1.")
    tasks: list[TaskPublic]
    assets: list[AssetPublic]
    result: ResultPublic | None
    error: ErrorPublic | None
    created_at: Timestamp
    updated_at: Timestamp
    delivered_at: Timestamp | None
    expires_at: Timestamp | None = Field(description="When retention removes it (null: kept).")
    last_seq: int
    queue_position: int | None = Field(description="Projects ahead of this one in the queue.")
    next_poll_ms: int | None = Field(description="When to poll again; null once terminal.")
    timeline: dict[str, Any] | None = Field(
        description="The planned timeline (its JSON Schema: GET /api/schema/timeline); null until planned."
    )


class TokenPublic(Public):
    """A delivery token: ``?token=`` reads this one project (snapshot, events, media) until it expires."""

    token: str
    expires_at: Timestamp
    project_id: str


# -- events -----------------------------------------------------------------------------------------------


class TaskStatusData(Public):
    task_id: str
    kind: str
    status: Status
    terminal: bool
    attempt: int
    error: ErrorPublic | None = Field(None, description="Only when the task failed.")


class RenderProgressData(Public):
    task_id: str
    kind: str
    progress: float = Field(ge=0, le=1)
    frame: int
    frames: int
    eta_s: float | None


class FileData(Public):
    asset: AssetPublic


class RenderResultData(Public):
    object: ResultPublic


class ProjectStatusData(Public):
    status: Status
    terminal: bool
    error: ErrorPublic | None = Field(None, description="Only when the project failed or was cancelled.")


class HelloData(Public):
    last_seq: int
    status: Status
    terminal: bool


class CursorData(Public):
    last_seq: int


class _Persisted(Public):
    seq: int = Field(description="1, 2, 3… per project, no gaps, never reused.")
    project_id: str
    ts: Timestamp


class TaskStatusEvent(_Persisted):
    type: Literal["task_status"]
    data: TaskStatusData


class RenderProgressEvent(_Persisted):
    type: Literal["render_progress"]
    data: RenderProgressData


class FileEvent(_Persisted):
    type: Literal["file"]
    data: FileData


class RenderResultEvent(_Persisted):
    type: Literal["render_result"]
    data: RenderResultData


class ProjectStatusEvent(_Persisted):
    type: Literal["project_status"]
    data: ProjectStatusData


class HelloEvent(Public):
    """The first message of every stream connection (not persisted: no seq)."""

    type: Literal["hello"]
    project_id: str
    data: HelloData


class PingEvent(Public):
    type: Literal["ping"]
    project_id: str
    data: CursorData


class ResyncEvent(Public):
    """The requested cursor is no longer available: fetch the snapshot."""

    type: Literal["resync"]
    project_id: str
    data: CursorData


class ProblemEvent(Public):
    """The stream hit a problem after it started; it ends, and the client resumes from its last seq."""

    type: Literal["problem"]
    project_id: str
    data: ErrorPublic


class EventEnvelope(
    RootModel[
        Annotated[
            TaskStatusEvent
            | RenderProgressEvent
            | FileEvent
            | RenderResultEvent
            | ProjectStatusEvent
            | HelloEvent
            | PingEvent
            | ResyncEvent
            | ProblemEvent,
            Field(discriminator="type"),
        ]
    ]
):
    """One message of a project's stream, the same JSON on SSE, WebSocket and polling, told apart by
    ``type``. Persisted events carry ``seq`` and ``ts``; stream-only messages (``hello``, ``ping``,
    ``resync``, ``problem``) do not."""


class EventList(Public):
    """JSON polling: the events after ``?after``."""

    events: list[EventEnvelope]
    last_seq: int
    terminal: bool = Field(description="True once the project ended and this page reaches its last event.")
    next_poll_ms: int | None


# -- the gallery, uploads, sign-in, health ---------------------------------------------------------------


class VideoPublic(Public):
    project_id: str
    prompt: str | None
    options: OptionsPublic
    result: ResultPublic | None
    created_at: Timestamp
    completed_at: Timestamp | None
    expires_at: Timestamp | None
    delivered_at: Timestamp | None


class VideoList(Public):
    items: list[VideoPublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last.")


class UploadPublic(Public):
    """An uploaded file: name it in a timeline by ``asset_id``."""

    asset_id: str
    kind: str = Field(description="image or audio")
    mime: str
    size: int
    url: str


class SessionPublic(Public):
    auth: AuthMode
    signed_in: bool
    owner: str | None
    admin: bool


class EngineList(Public):
    """The engines this service has configured (``GET /api/engines``)."""

    default: str = Field(description="The engine a project gets when it names none.")
    engines: list[EngineInfo]


class Health(Public):
    status: Literal["ok"]


class Readiness(Public):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str] = Field(description="database, broker, storage: ok, or what failed.")
    code: str | None = Field(None, description="service_unavailable when a check failed.")


# -- webhooks ---------------------------------------------------------------------------------------------


class WebhookEndpointPublic(Public):
    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: Timestamp | None
    disabled_at: Timestamp | None
    disabled_reason: str | None

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookEndpointPublic:
        return cls.model_validate(endpoint.public())


class WebhookEndpointCreated(WebhookEndpointPublic):
    secret: str = Field(description="whsec_…: verifies this endpoint's deliveries. Shown this once.")


class WebhookEndpointRotated(WebhookEndpointPublic):
    secret: str = Field(description="The new whsec_…: verifies this endpoint's deliveries. Shown this once.")
    previous_secret_until: Timestamp | None = Field(
        description="Until when deliveries are signed with the old secret too (null: no longer)."
    )


class WebhookEndpointList(Public):
    items: list[WebhookEndpointPublic]


class AttemptPublic(Public):
    at: Timestamp | None
    status_code: int | None
    latency_ms: float | None
    error: str | None


class DeliveryPublic(Public):
    id: str
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt of this event.")
    endpoint_id: str
    type: str
    url: str
    state: str = Field(description="pending, delivered or failed")
    created_at: Timestamp | None
    next_attempt_at: Timestamp | None
    attempts: list[AttemptPublic]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls.model_validate(delivery.public())


class DeliveryList(Public):
    items: list[DeliveryPublic]
