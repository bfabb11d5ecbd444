"""Feedback requests: one per application and audience, each with its own one-time link."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .base import UTCDateTime
from .outcomes import Application
from .surveys import Survey


class FeedbackRequest(db.Model):
    """Asks one person (candidate or company contact) one survey about one application."""

    __tablename__ = "feedback_requests"
    __table_args__ = (
        sa.UniqueConstraint("application_id", "audience"),
        sa.CheckConstraint("audience IN ('candidate', 'company')", name="audience"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="CASCADE"))
    # The application's company, copied so that per-company counts need no join.
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id"))
    audience: Mapped[str] = mapped_column(sa.String(20))
    recipient_email: Mapped[str | None] = mapped_column(sa.String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The current link was issued (first mailed, or renewed) at this moment; older links are dead.
    link_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The highest FEEDBACK_REMINDER_DAYS mark already reminded (0: none).
    reminded_day_mark: Mapped[int] = mapped_column(default=0)

    application: Mapped[Application] = relationship()
    survey: Mapped[Survey] = relationship()


class RequestTally(db.Model):
    """How many of a company's requests were mailed and answered, per audience.

    Kept by database triggers on feedback_requests (migration e5b8c3f1a7d2), so every writer counts:
    the sent marks, the answer's claim, imports and bulk loads, deletions. The report and the
    dashboard read two rows instead of counting the company's requests. A later migration that
    rebuilds feedback_requests on SQLite (batch mode) must create the triggers again.
    """

    __tablename__ = "request_tallies"

    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    audience: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    sent: Mapped[int]  # requests with first_sent_at
    completed: Mapped[int]  # requests with answered_at
