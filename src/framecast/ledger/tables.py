"""Table definitions (SQLAlchemy Core). Types that work on SQLite and Postgres alike."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; Postgres wants BIGINT identity.
EventId = BigInteger().with_variant(Integer(), "sqlite")

projects = Table(
    "projects",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(120), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("prompt", Text, nullable=True),
    Column("options", JSON, nullable=False),
    Column("timeline", JSON, nullable=True),
    Column("error", JSON, nullable=True),
    Column("result", JSON, nullable=True),
    Column("last_seq", Integer, nullable=False, default=0),
    Column("idempotency_key", String(200), nullable=True),
    Column("request_hash", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("delivered_seq", Integer, nullable=True),
    Column("seconds", Float, nullable=True),
    UniqueConstraint("owner", "idempotency_key", name="uq_projects_owner_idempotency_key"),
)
Index("ix_projects_status_created", projects.c.status, projects.c.created_at)
Index("ix_projects_owner_completed", projects.c.owner, projects.c.completed_at, projects.c.id)
Index("ix_projects_owner_created", projects.c.owner, projects.c.created_at)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),
    Column("attempt", Integer, nullable=False, default=1),
    Column("error", JSON, nullable=True),
    Column("depends_on", JSON, nullable=False),
    Column("params", JSON, nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("enqueued_at", DateTime(timezone=True), nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    Column("message_id", String(64), nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    #: The worker process running it (``host:pid``, see jobs.identity); kept after it ends, for the record.
    Column("worker", String(128), nullable=True),
    # What an attempt recorded for the next (EngineRun.record: a provider's job id); kept across re-queues.
    Column("checkpoint", JSON, nullable=True),
)
Index("ix_tasks_status", tasks.c.status)

OutboxId = BigInteger().with_variant(Integer(), "sqlite")

#: Tasks that became ready in a committed transaction and still have to be sent to the broker. A row is
#: deleted once the message is out; the reconciler sends rows that a crash left behind.
outbox = Table(
    "outbox",
    metadata,
    Column("id", OutboxId, primary_key=True, autoincrement=True),
    Column("task_id", String(40), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("task_id", "attempt", name="uq_outbox_task_attempt"),
)

assets = Table(
    "assets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(120), nullable=False, index=True),
    Column(
        "project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    ),
    Column("task_id", String(40), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("key", String(400), nullable=False),
    Column("mime", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    UniqueConstraint("project_id", "seq", name="uq_events_project_seq"),
)

#: API keys: only a SHA-256 of each key's secret is stored.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(120), nullable=False, index=True),
    Column("label", String(200), nullable=False),
    Column("admin", Boolean, nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)

#: The page's sessions (``POST /api/session``): a SHA-256 of each cookie, the key it was opened with and
#: when it expires. Signing out deletes the row, revoking the key deletes its rows.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", String(40), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

#: Secrets the service makes for itself (the delivery-token signing key), shared by every replica.
service_secrets = Table(
    "service_secrets",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: A secret kept only until then (the webhook secret a rotation replaced); NULL: for good.
    Column("expires_at", DateTime(timezone=True), nullable=True),
)

#: Where webhooks go: an owner's endpoints (``project_id`` NULL, own secret) and projects' own webhooks
#: (``project_id`` set, signed with the service's secret: ``secret`` NULL).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(120), nullable=False),
    Column(
        "project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    ),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),
    Column("secret", Text, nullable=True),
    Column("description", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Column("disabled_reason", Text, nullable=True),
    #: The secret a rotation replaced: it still signs, beside ``secret``, until ``previous_secret_until``.
    Column("previous_secret", Text, nullable=True),
    Column("previous_secret_until", DateTime(timezone=True), nullable=True),
)
Index("ix_webhook_endpoints_owner", webhook_endpoints.c.owner, webhook_endpoints.c.created_at)

#: The webhook outbox: one row per event and endpoint, written in the transaction of the state change.
#: ``endpoint_id`` has no foreign key: a removed endpoint's deliveries stay listed with their attempts.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("endpoint_id", String(40), nullable=False, index=True),
    Column("message_id", String(40), nullable=False),
    Column("type", String(40), nullable=False),
    Column("url", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("window_started_at", DateTime(timezone=True), nullable=True),
    Column("tries", Integer, nullable=False, default=0),
)
Index("ix_webhook_deliveries_due", webhook_deliveries.c.state, webhook_deliveries.c.next_attempt_at)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", OutboxId, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        String(40),
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("error", Text, nullable=True),
)

#: Counters for /metrics (``services.metrics``), bumped by the transaction that records what they count
#: (a task's completion, a webhook delivery): one row per (metric, label, bucket upper bound ``le``; "" for a
#: plain counter). Every process counts into the same rows, and deleting a project never lowers them.
metric_counters = Table(
    "metric_counters",
    metadata,
    Column("metric", String(32), nullable=False),
    Column("label", String(32), nullable=False),
    Column("le", String(24), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("total", Float, nullable=False),
    PrimaryKeyConstraint("metric", "label", "le", name="pk_metric_counters"),
)
