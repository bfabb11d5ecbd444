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
    # The form was opened from a score chosen in the e-mail (CONTRACT §5, `/f/<token>?nps=N`).
    started_from_email: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    __table_args__ = (
        sa.Index("ix_responses_company_audience_stage", "company_id", "audience", "stage"),
        # By id within company and audience: an anonymity snapshot's cutoff is a step along it.
        sa.Index("ix_responses_company_audience_id", "company_id", "audience", "id"),
        # The answers begun from a score in the e-mail: a dashboard page counts them on this index alone.
        sa.Index("ix_responses_from_email", "company_id", "audience", "started_from_email",
                 sqlite_where=sa.text("started_from_email = 1"), postgresql_where=sa.text("started_from_email")),
    )


TEXTS_ONLY = "text IS NOT NULL AND number IS NULL"


class Answer(db.Model):
    """One answer to one question: numeric questions fill ``number`` so SQL can average them.

    The response's company, audience and stage are copied onto each answer, so that a company's
    aggregates read one index (``ix_answers_facts``, which covers them) instead of joining
    responses row by row: the report and the dashboard then cost what the company's own answers
    cost, whatever the size of the table.
    """

    __tablename__ = "answers"
    __table_args__ = (
        sa.CheckConstraint("number IS NOT NULL OR text IS NOT NULL", name="has_value"),
        sa.Index("ix_answers_response_question", "response_id", "question_id"),
        # By response within company and audience: a submission's answers share a leaf page (see
        # migration a4e6c2d9b815), and an anonymity snapshot is a range of it.
        sa.Index("ix_answers_facts", "company_id", "audience", "response_id", "question_id", "number", "stage"),
        # Texts only (comments and choices): a dashboard page counts and samples its comments here.
        sa.Index("ix_answers_texts", "company_id", "audience", "question_id", "stage", "response_id",
                 sqlite_where=sa.text(TEXTS_ONLY), postgresql_where=sa.text(TEXTS_ONLY)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("responses.id", ondelete="CASCADE"))
    # No index of its own: answers are read by company (ix_answers_facts) or by response, never by
    # question alone, and questions are never deleted.
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"))
    # Copies of the response's columns (see the class docstring); the response's keys govern deletion.
    company_id: Mapped[int]
    audience: Mapped[str] = mapped_column(sa.String(20))
    stage: Mapped[str] = mapped_column(sa.String(20))
    number: Mapped[int | None]
    # A choice's code (one row per chosen option) or free text.
    text: Mapped[str | None] = mapped_column(sa.Text)


class AnswerTally(db.Model):
    """How often each value was given to each question, per company, audience and stage.

    Kept up to date in the transaction that stores the answers (services/responses.py), so that
    the company report reads a few hundred rows however many answers there are. Numeric answers
    are tallied by their number, choices by their code; free text is not tallied.
    """

    __tablename__ = "answer_tallies"

    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    audience: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    stage: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), primary_key=True)
    # The number as text ("0" to "10"), or the choice's code.
    value: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    count: Mapped[int]
