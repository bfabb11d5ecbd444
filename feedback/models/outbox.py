"""The e-mail outbox and the suppression list."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .base import UTCDateTime
from .requests import FeedbackRequest

MAIL_KINDS = ("invitation", "reminder", "fresh_link", "candidate_view", "feedback_ready", "escalation")
# Two kinds of mail (CONTRACT §5): requests ask for an answer, notices tell of feedback. A view link
# someone asked for on /me is neither: it is always sent, and so is an escalation to staff.
REQUEST_KINDS = ("invitation", "reminder", "fresh_link")
NOTICE_KINDS = ("feedback_ready",)
SUPPRESSION_SCOPES = ("all", "requests")
MAIL_STATUSES = ("queued", "sent", "failed", "cancelled")


class OutboxMessage(db.Model):
    """An e-mail to send. Written in the transaction that decided it; rendered and sent later."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('invitation', 'reminder', 'fresh_link', 'candidate_view', 'feedback_ready', 'escalation')",
            name="kind"),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed', 'cancelled')", name="status"),
        sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("feedback_requests.id", ondelete="CASCADE"), index=True
    )
    # For mail about a person rather than one request (the candidate's view link).
    candidate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str | None] = mapped_column(sa.String(320))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender claims rows until this moment; a sender that dies leaves the claim to run out.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subject: Mapped[str | None] = mapped_column(sa.String(300))
    # Kept only in dev mode, for the dev mailbox page: in production a body holds a live link.
    body_text: Mapped[str | None] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)

    request: Mapped[FeedbackRequest | None] = relationship()


class Suppression(db.Model):
    """An address that asked to stop mail, kept only as a keyed hash: ``all`` stops requests and
    notices, ``requests`` only the surveys and their reminders."""

    __tablename__ = "suppressions"
    __table_args__ = (sa.CheckConstraint("scope IN ('all', 'requests')", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(40), default="unsubscribed")
    scope: Mapped[str] = mapped_column(sa.String(10), default="all", server_default="all")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppKey(db.Model):
    """A key the service makes for itself once and never rotates (not a SECRET_KEY: it signs nothing a
    visitor could use). ``address``: the key of the suppression list's hashes and of unsubscribe
    links, so an unsubscribe holds across every rotation of SECRET_KEY. ``unsubscribe-verifier:N``:
    itsdangerous's derived key of the unsubscribe salt under a SECRET_KEY of the past, kept so the
    unsubscribe links signed with it keep working after that key is retired."""

    __tablename__ = "app_keys"

    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(128))
