"""API keys, ATS connectors and the record of received webhook deliveries (for replay protection)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .accounts import User
from .base import UTCDateTime
from .outcomes import Company


class ApiKey(db.Model):
    """A key that acts with its user's rights. Only a hash is stored; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The key's first characters, to name it in lists and logs without revealing it.
    prefix: Mapped[str] = mapped_column(sa.String(16), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class WebhookDelivery(db.Model):
    """A webhook event already accepted, by its signature: the same event is never taken twice."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


CONNECTOR_KINDS = ("generic", "greenhouse", "ashby", "lever", "recruitee", "workable")
CONNECTOR_EVENT_STATUSES = ("taken", "known", "ignored", "pending", "failed")


class Connector(db.Model):
    """An ATS's webhook into one company (CONTRACT §8): its address is /hooks/<kind>/<id>, its events
    are verified with its own secret, and it imports for its company only."""

    __tablename__ = "connectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    # The HMAC key the ATS signs with: both sides must hold it, so it is stored encrypted with a
    # key derived from SECRET_KEY (feedback/secrets_box.py), never as given.
    secret: Mapped[str] = mapped_column(sa.Text)
    # Lever only: the company's API key (encrypted alike) and the API's base URL, to read what its
    # thin events leave out.
    api_key: Mapped[str | None] = mapped_column(sa.Text)
    api_base_url: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_count: Mapped[int] = mapped_column(default=0, server_default="0")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company] = relationship()


class ConnectorEvent(db.Model):
    """One event a connector took, by the vendor's event id (or a hash of the signed content): its
    retries find it here and create nothing twice. An event that needs the vendor's API (Lever)
    waits here as ``pending`` with what the worker needs, and is retried with backoff."""

    __tablename__ = "connector_events"
    __table_args__ = (
        sa.UniqueConstraint("connector_id", "event_key"),
        sa.Index("ix_connector_events_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(sa.ForeignKey("connectors.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(sa.String(128))
    action: Mapped[str] = mapped_column(sa.String(20))  # feedback.ats.ACTIONS
    status: Mapped[str] = mapped_column(sa.String(20))  # CONNECTOR_EVENT_STATUSES
    detail: Mapped[str | None] = mapped_column(sa.Text)  # JSON, for a pending event only
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    application_ref: Mapped[str | None] = mapped_column(sa.String(100))
    candidate_ref: Mapped[str | None] = mapped_column(sa.String(100))  # the vendor's candidate id
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connector: Mapped[Connector] = relationship()


class WebhookEndpoint(db.Model):
    """A company's receiver of outgoing webhooks (Standard Webhooks: webhook-id, -timestamp,
    -signature), with its own secret (``whsec_…``, stored encrypted) and the event types it takes."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret: Mapped[str] = mapped_column(sa.Text)
    events: Mapped[str] = mapped_column(sa.String(200))  # comma-separated event types
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company] = relationship()


class WebhookMessage(db.Model):
    """One outgoing webhook to deliver (the outbox pattern): queued in the transaction of what it
    tells, sent by the worker with retries and backoff."""

    __tablename__ = "webhook_messages"
    __table_args__ = (sa.Index("ix_webhook_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(sa.String(40))
    msg_id: Mapped[str] = mapped_column(sa.String(40), unique=True)  # webhook-id: the same on every retry
    payload: Mapped[str] = mapped_column(sa.Text)  # the JSON body, exactly as signed
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")  # queued, sent, failed
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()
