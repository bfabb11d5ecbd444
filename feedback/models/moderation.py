"""Review of the free-text advice a company writes for a candidate, before the candidate sees it."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .base import UTCDateTime
from .responses import Answer

REVIEW_STATUSES = ("pending", "approved", "withheld")


class AdviceReview(db.Model):
    """One `strengthen` answer waiting for, or past, a recruiter's review."""

    __tablename__ = "advice_reviews"
    __table_args__ = (sa.CheckConstraint("status IN ('pending', 'approved', 'withheld')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(sa.ForeignKey("answers.id", ondelete="CASCADE"), unique=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)
    # What the candidate sees: the original text, or the recruiter's edit of it.
    released_text: Mapped[str | None] = mapped_column(sa.Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    answer: Mapped[Answer] = relationship()
