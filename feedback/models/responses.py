"""Submitted answers: one response per request, one row per answer."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow
from .base import UTCDateTime


class Response(db.Model):
    """One submission of a request's form.

    The company, position, stage and outcome are copied from the application at submission so
    that aggregates need no joins and survive the erasure of the person behind them.
    """

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    # unique: a request is answered at most once, enforced by the database.
    request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("feedback_requests.id", ondelete="SET NULL"), unique=True
    )
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id"))
    audience: Mapped[str] = mapped_column(sa.String(20))
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    position_id: Mapped[int] = mapped_column(sa.ForeignKey("positions.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(sa.String(20))
    outcome: Mapped[str] = mapped_column(sa.String(20))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_responses_company_audience_stage", "company_id", "audience", "stage"),)


class Answer(db.Model):
    """One answer to one question: numeric questions fill ``number`` so SQL can average them."""

    __tablename__ = "answers"
    __table_args__ = (
        sa.CheckConstraint("number IS NOT NULL OR text IS NOT NULL", name="has_value"),
        sa.Index("ix_answers_response_question", "response_id", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("responses.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), index=True)
    number: Mapped[int | None]
    # A choice's code (one row per chosen option) or free text.
    text: Mapped[str | None] = mapped_column(sa.Text)
