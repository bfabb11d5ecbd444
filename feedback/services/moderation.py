"""Reviewing the advice a company writes for a candidate before the candidate sees it."""
from __future__ import annotations

import logging

import sqlalchemy as sa

from ..extensions import db
from ..models import AdviceReview, Answer, Question, User
from ..timeutil import utcnow
from .notices import announce_feedback

log = logging.getLogger(__name__)


def queue_advice_for_review(response_id: int, company_id: int) -> int | None:
    """Put a company response's `strengthen` text in the review queue: the review's id, or None
    without such a text. The caller commits."""
    answer_id = db.session.scalar(
        sa.select(Answer.id).join(Question, Question.id == Answer.question_id)
        .where(Answer.response_id == response_id, Question.key == "strengthen")
    )
    if answer_id is None:
        return None
    return db.session.scalar(sa.insert(AdviceReview).values(answer_id=answer_id, company_id=company_id,
                                                           status="pending").returning(AdviceReview.id))


class AdviceAlreadyDecided(ValueError):
    """The advice was approved or withheld already: a decision stands until an admin reopens it."""


def review_advice(review: AdviceReview, decision: str, reviewer: User, edited_text: str | None = None) -> None:
    """Approve (optionally edited) or withhold pending advice; a decided one raises AdviceAlreadyDecided. Flushes."""
    if decision not in ("approve", "withhold"):
        raise ValueError(f"unknown decision {decision!r}")
    if review.status != "pending":
        raise AdviceAlreadyDecided(f"advice review {review.id} is already {review.status}")
    review.status = "approved" if decision == "approve" else "withheld"
    if decision == "approve":
        text = (edited_text or "").strip()
        review.released_text = text or review.answer.text
    else:
        review.released_text = None
    review.reviewed_by_id = reviewer.id
    review.reviewed_at = utcnow()
    db.session.flush()
    if decision == "approve":
        announce_feedback(review.answer.response_id)
    log.info("advice review %s %s by user %s", review.id, review.status, reviewer.id)


def reopen_advice(review: AdviceReview) -> None:
    """Put decided advice back in the queue (admins only, audited by the caller): nothing of it is
    shown to the candidate until it is decided again. Flushes."""
    review.status, review.released_text = "pending", None
    review.reviewed_by_id = review.reviewed_at = None
    db.session.flush()
    log.info("advice review %s reopened", review.id)
