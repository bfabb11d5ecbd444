"""Feedback requests: one per application and audience, each with its own one-time link."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from ..workdays import latest_decision_over
from .base import UTCDateTime
from .outcomes import Application
from .surveys import Survey


class FeedbackRequest(db.Model):
    """Asks one person (candidate or company contact) one survey about one application."""

    __tablename__ = "feedback_requests"
    __table_args__ = (
        sa.UniqueConstraint("application_id", "audience"),
        sa.CheckConstraint("audience IN ('candidate', 'company')", name="audience"),
        # A company's requests mailed and answered per audience are counted on this index alone
        # (queries/figures.py, requests_row); it also serves the company's cascade.
        sa.Index("ix_feedback_requests_company_counts", "company_id", "audience", "first_sent_at", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="CASCADE"))
    # The application's company, copied so that per-company counts need no join.
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
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
    # A company request's working days (workdays.py) from the decision to its answer, set with the
    # answer: follow-up speed (CONTRACT §6) is SQL over it.
    answered_working_days: Mapped[int | None]
    # When the missing answer was escalated to the company's recruiters (CONTRACT §5): once.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    application: Mapped[Application] = relationship()
    survey: Mapped[Survey] = relationship()



def overdue_feedback(sla_days: int, today: date) -> list[sa.ColumnElement[bool]]:
    """Conditions of a company request whose feedback is overdue ``today`` (the query joins its application):
    mailed, unanswered, not cancelled, decided more than ``sla_days`` working days ago."""
    return [FeedbackRequest.audience == "company", FeedbackRequest.first_sent_at.is_not(None),
            FeedbackRequest.answered_at.is_(None), FeedbackRequest.cancelled_at.is_(None),
            FeedbackRequest.recipient_email.is_not(None),
            Application.decided_on <= latest_decision_over(today, sla_days)]
