"""The surveys and their questions, stored as data and versioned.

A change of wording creates a new survey version; answers keep pointing at the question row they
answered, so old answers are never re-read under new wording.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .base import UTCDateTime

AUDIENCES = ("candidate", "company")
QUESTION_KINDS = ("nps", "likert", "band", "choices", "text", "yesno")


class Survey(db.Model):
    __tablename__ = "surveys"
    __table_args__ = (
        sa.UniqueConstraint("key", "version", "locale"),
        sa.CheckConstraint("audience IN ('candidate', 'company')", name="audience"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(60))
    version: Mapped[int]
    # A translation is its own stored wording of the same version: the same question keys, so the
    # figures count every language together, and answers point at the wording they answered.
    locale: Mapped[str] = mapped_column(sa.String(16), default="en", server_default="en")
    audience: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", order_by="Question.position", lazy="selectin"
    )


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (
        sa.UniqueConstraint("survey_id", "key"),
        sa.CheckConstraint(
            "kind IN ('nps', 'likert', 'band', 'choices', 'text', 'yesno')", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(60))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(20))
    prompt: Mapped[str] = mapped_column(sa.Text)
    help_text: Mapped[str | None] = mapped_column(sa.Text)
    required: Mapped[bool] = mapped_column(default=False)
    # [[code, label], ...] for choices; scale labels for likert/band/nps ends.
    options: Mapped[list | None] = mapped_column(sa.JSON)
    max_length: Mapped[int | None]

    survey: Mapped[Survey] = relationship(back_populates="questions")
