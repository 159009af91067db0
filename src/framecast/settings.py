"""One typed settings object, built at the edge (CLI, app factory) and passed down.

Every field can be set with an environment variable ``FRAMECAST_<NAME>``, e.g. ``FRAMECAST_DATA_DIR``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from framecast.domain.identity import AuthMode

#: A comma-separated list in the environment (``a,b``), a list in code.
CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Framecast configuration.

    >>> Settings(data_dir=Path("/tmp/fc")).database_url_resolved
    'sqlite:////tmp/fc/framecast.db'
    """

    model_config = SettingsConfigDict(env_prefix="FRAMECAST_", extra="ignore")

    data_dir: Path = Field(
        Path("data"), description="Where the SQLite file and the media live in embedded mode."
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in the data dir.")
    broker_url: str | None = Field(
        None, description="redis://… for scale-out; default the embedded SQLite broker."
    )
    media_url: str | None = Field(
        None,
        description="Media directory (path or file://…) or S3-compatible bucket (s3://bucket/prefix); "
        "default DATA_DIR/media.",
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint, e.g. http://minio:9000; default AWS_ENDPOINT_URL or AWS S3."
    )
    s3_region: str | None = Field(None, description="S3 region; default AWS_REGION or us-east-1.")
    s3_access_key: str | None = Field(
        None,
        description="S3 access key; default the environment (AWS_ACCESS_KEY_ID), the AWS shared "
        "credentials file, then an IAM role.",
    )
    s3_secret_key: str | None = Field(None, description="S3 secret key (with s3_access_key).")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int | None = Field(
        None, ge=0, description="Local worker processes; default the number of cores."
    )
    worker_threads: int = Field(1, ge=1)
    worker_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="How much lower the scheduling priority of the embedded pool's worker processes is than "
        "the API's (os.nice): rendering takes every core it gets, and the API delivers the results.",
    )
    backlog: int = Field(
        16384,
        ge=64,
        le=1_048_576,
        description="The listen backlog: connections the kernel queues before the server accepts them (a "
        "reconnect storm opens thousands at once). The kernel caps it at net.core.somaxconn.",
    )
    namespace: str = Field("framecast", description="Prefix of Redis keys, so deployments can share a Redis.")
    owner: str = Field("local", description="Owner of every project in single-user mode.")

    auth: AuthMode = Field(
        AuthMode.NONE,
        description="none (one owner, loopback only), keys (API keys) or proxy (an identity-aware proxy).",
    )
    proxy_user_header: str = Field(
        "X-Forwarded-User", description="In proxy mode, the header that names the owner."
    )
    trusted_proxies: CommaList = Field(
        default_factory=list, description="In proxy mode, the CIDRs the owner header is trusted from."
    )
    allowed_hosts: CommaList = Field(
        default_factory=list,
        description="Host names the server answers (besides the loopback names and the bind address).",
    )
    quota_active: int | None = Field(
        None, ge=1, description="Per owner: projects queued or running at once (default: no limit)."
    )
    quota_seconds_per_day: float | None = Field(
        None, gt=0, description="Per owner: seconds of video asked for in any 24 hours (default: no limit)."
    )
    quota_storage_mb: float | None = Field(
        None, gt=0, description="Per owner: megabytes of stored files (default: no limit)."
    )
    queue_limit: int | None = Field(
        None, ge=1, description="Service-wide: projects queued or running at once (default: no limit)."
    )
    retention_days: float | None = Field(
        None, gt=0, description="Finished projects and their files are removed after this many days."
    )
    allowed_origins: CommaList = Field(
        default_factory=list,
        description="Other origins (https://app.example) allowed to make state-changing requests.",
    )

    webhook_secret: str | None = Field(
        None,
        description="whsec_… (base64 of 24 to 64 bytes): signs projects' own webhooks. Default: one made "
        "once and kept in the ledger (`framecast webhooks secret` prints it); set it in production.",
    )
    webhook_secret_previous: str | None = Field(
        None,
        description="During a rotation of FRAMECAST_WEBHOOK_SECRET: the old whsec_…, which signs projects' "
        "own webhooks beside the new one while it is set (remove it when every receiver has the new one).",
    )
    webhook_allow_private: bool = Field(
        False,
        description="Let webhooks go to loopback, private and link-local addresses (tests, private networks).",
    )
    webhook_poll_interval_s: float = Field(
        0.2, gt=0, description="How often the webhook sender looks for due deliveries."
    )
    webhook_concurrency: int = Field(4, ge=1, le=64, description="Webhook deliveries sent at once.")
    webhook_retry_scale: float = Field(
        1.0, gt=0, le=1, description="Testing only: multiplies the webhook retry schedule (and its day)."
    )

    ping_interval_s: float = Field(
        15.0, gt=0, description="Seconds between named `ping` events on idle streams."
    )
    sse_retry_ms: int = Field(2000, ge=0, description="The `retry:` hint sent to EventSource clients.")
    poll_interval_ms: int = Field(1000, ge=100, description="`next_poll_ms` while a project runs.")
    queued_poll_interval_ms: int = Field(
        2000, ge=100, description="`next_poll_ms` while a project is queued."
    )
    hub_interval_s: float = Field(
        0.005, gt=0, description="How often the embedded event hub looks for new events."
    )
    progress_interval_s: float = Field(
        0.25, gt=0, description="At most one render_progress event per task per this."
    )
    cancel_check_interval_s: float = Field(
        0.2, gt=0, description="How often a running task re-reads cancellation."
    )
    heartbeat_timeout_s: float = Field(
        15.0, gt=0, description="A worker silent this long is dead; its messages return."
    )
    task_time_limit_s: float = Field(6 * 3600, gt=0, description="Dramatiq time limit for one task.")
    max_body_bytes: int = Field(1_000_000, gt=0)
    # No setting turns these two off: a server that waits forever for headers of any size is one a few
    # idle sockets can fill.
    max_header_bytes: int = Field(
        32_768,
        ge=4096,
        le=1_048_576,
        description="A request whose line and headers are over this many bytes gets 431 and is closed.",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        le=30,
        description="A client that has not sent its request headers within this many seconds (of connecting, "
        "or of the previous response) gets 408 and is closed.",
    )
    max_upload_bytes: int = Field(25_000_000, gt=0)
    reconcile_interval_s: float = Field(
        3.0, gt=0, description="How often serve reconciles ledger and broker."
    )
    outbox_grace_s: float = Field(5.0, gt=0, description="Outbox rows older than this are re-sent.")
    lost_message_after_s: float = Field(
        10.0, gt=0, description="A sent task whose message vanished is re-sent."
    )
    media_sweep_interval_s: float = Field(
        600.0, gt=0, description="How often files of deleted projects are looked for and removed."
    )
    drain_timeout_s: float = Field(
        20.0, ge=0, description="On SIGTERM, running tasks get this long before handing back."
    )
    chunk_seconds: float = Field(2.0, gt=0, description="Target length of one render chunk (GOP-aligned).")

    # Engines (docs/engines.md): each one but the procedural is there only when configured.
    diffusers_model: Path | None = Field(
        None,
        description="A local directory with a text-to-video pipeline in diffusers format (the `diffusers` "
        "extra); enables the diffusers engine. Nothing is downloaded.",
    )
    diffusers_steps: int = Field(25, ge=1, le=500, description="Denoising steps per video (diffusers).")
    diffusers_max_duration_s: float = Field(
        5.0, gt=0, le=60, description="The longest video the diffusers engine accepts, in seconds."
    )
    diffusers_max_pixels: int = Field(
        832 * 480,
        ge=256,
        description="The most pixels a frame is generated at (diffusers), at the project's aspect; the frames "
        "are resized to the project's size. A model makes its best video at the size it was trained for.",
    )
    diffusers_max_frames: int | None = Field(
        None,
        ge=1,
        description="The most frames the diffusers pipeline generates per video (CogVideoX makes at most 49); "
        "the video keeps the project's frame count, each generated frame held for its share. Unset: as many "
        "as the project has.",
    )
    diffusers_device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where the pipeline runs: auto is CUDA when present, else the CPU."
    )

    # Fault injection for tests and drills, e.g. "render_chunk:1" fails the first attempt of every render chunk.
    fail_tasks: str = Field("", description="Comma list of kind:attempt to fail on purpose (testing only).")
    debug_frame_delay_ms: float = Field(
        0.0, ge=0, description="Sleep per rendered frame or denoising step (testing only)."
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text (one readable line per record) or json (one JSON object per line, with the "
        "request, project and task ids of the record).",
    )
    metrics_token: str | None = Field(
        None,
        description="A Bearer token that may read GET /metrics (besides admin keys) when sign-in is on; "
        "give it to Prometheus.",
    )

    # Hosted video APIs (docs/engines.md): each engine is there only when its provider key is set. The keys
    # keep the providers' own variable names and are SecretStr: never shown in a repr, log or error.
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("openai_api_key", "OPENAI_API_KEY"),
        description="OPENAI_API_KEY: enables the openai engine (OpenAI Videos).",
    )
    openai_video_model: str = Field("sora-2", description="The OpenAI video model (sora-2 or sora-2-pro).")
    openai_base_url: str | None = Field(
        None, description="The OpenAI SDK's base_url (default https://api.openai.com/v1)."
    )
    replicate_api_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("replicate_api_token", "REPLICATE_API_TOKEN"),
        description="REPLICATE_API_TOKEN: enables the replicate engine.",
    )
    replicate_video_model: str = Field(
        "wan-video/wan-2.7-t2v", description="The Replicate model, owner/name or owner/name:version."
    )
    replicate_base_url: str | None = Field(
        None, description="The Replicate SDK's base_url (default https://api.replicate.com)."
    )
    fal_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("fal_key", "FAL_KEY"),
        description="FAL_KEY: enables the fal engine. fal-client reads its queue host from FAL_QUEUE_RUN_HOST.",
    )
    fal_video_model: str = Field(
        "fal-ai/wan-25-preview/text-to-video", description="The fal app (endpoint id) that makes the video."
    )
    hosted_poll_interval_s: float = Field(
        2.0, gt=0, description="How often a hosted engine asks its provider about a running job."
    )
    hosted_timeout_s: float = Field(
        1800.0, gt=0, description="A provider job not finished this long after its creation is cancelled."
    )
    hosted_max_download_mb: float = Field(
        1024.0, gt=0, description="The largest provider video Framecast downloads, in megabytes."
    )
    hosted_download_timeout_s: float = Field(
        300.0, gt=0, description="The longest a provider video's download may take."
    )

    @property
    def database_url_resolved(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{self.data_dir.absolute() / 'framecast.db'}"

    @property
    def media_in_s3(self) -> bool:
        return bool(self.media_url and self.media_url.startswith("s3://"))

    @property
    def media_dir(self) -> Path:
        """The media directory; with S3 media, the local scratch directory for work files."""
        if self.media_in_s3:
            return (self.data_dir / "scratch").absolute()
        if self.media_url:
            raw = self.media_url.removeprefix("file://")
            return Path(raw).absolute()
        return (self.data_dir / "media").absolute()

    @field_validator("broker_url")
    @classmethod
    def _redis_or_embedded(cls, value: str | None) -> str | None:
        if not value:
            return None  # an empty FRAMECAST_BROKER_URL means the embedded broker, as unset does
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "FRAMECAST_BROKER_URL must be a Redis URL (redis://host:6379/0, rediss://… or unix://…); "
                "leave it unset for the embedded broker"
            )
        return value

    @field_validator("webhook_secret", "webhook_secret_previous")
    @classmethod
    def _whsec(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        hint = (
            f"FRAMECAST_{str(info.field_name).upper()} must be whsec_ followed by base64 of 24 to 64 random bytes, e.g. "
            "python -c \"import base64,os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())\""
        )
        if not value.startswith("whsec_"):
            raise ValueError(hint)
        try:
            raw = base64.b64decode(value.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(hint) from None
        if not 24 <= len(raw) <= 64:
            raise ValueError(hint)
        return value

    @model_validator(mode="after")
    def _previous_needs_current(self) -> Settings:
        if self.webhook_secret_previous and not self.webhook_secret:
            raise ValueError(
                "FRAMECAST_WEBHOOK_SECRET_PREVIOUS is the old secret of a rotation: set the new one in "
                "FRAMECAST_WEBHOOK_SECRET too (the ledger-kept secret rotates with `framecast webhooks "
                "rotate-secret`)"
            )
        return self

    @field_validator("trusted_proxies", "allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"FRAMECAST_TRUSTED_PROXIES: {item!r} is not an address or CIDR") from None
        return value

    @property
    def auth_set_explicitly(self) -> bool:
        """True when FRAMECAST_AUTH (or the argument) was given, not left to its default."""
        return "auth" in self.model_fields_set

    @property
    def redis_url(self) -> str | None:
        """The Redis of a scale-out deployment (broker, event fan-out), or None when embedded: the one
        place that decides which mode this is."""
        return self.broker_url

    @property
    def embedded_broker(self) -> bool:
        return self.redis_url is None

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers is not None else (os.cpu_count() or 1)

    def injected_failure(self, kind: str, attempt: int) -> bool:
        wanted = {item.strip() for item in self.fail_tasks.split(",") if item.strip()}
        return f"{kind}:{attempt}" in wanted or f"{kind}:*" in wanted
