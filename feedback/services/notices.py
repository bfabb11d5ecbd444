"""Telling a candidate that feedback is ready (CONTRACT §5, mail of kind ``feedback_ready``)."""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Answer, Application, Candidate, FeedbackRequest, OutboxMessage, Question, Response
from ..timeutil import utcnow

log = logging.getLogger(__name__)
NOTICE_INTERVAL = timedelta(days=1)  # at most one notice a day per candidate, whatever the companies
# Not news on their own: advice waits for review (its approval is announced), and the answer on
# future roles is shown only when the company chose to share it.
UNRELEASED_KEYS = ("strengthen", "reconsider")


def holds_releasable_feedback(response_id: int) -> bool:
    """Whether a company's response holds something the candidate sees at once (reasons, bands)."""
    return db.session.scalar(
        sa.select(sa.exists().where(Answer.response_id == response_id, Question.id == Answer.question_id,
                                    Question.key.not_in(UNRELEASED_KEYS)))) is True


def announce_feedback(response_id: int) -> bool:
    """Queue the notice for the candidate a company response is about, unless one is queued already
    (it will tell of this company too). Due now, or a day after the last one went. Flushes."""
    candidate_id, address = db.session.execute(
        sa.select(Candidate.id, Candidate.email)
        .join(Application, Application.candidate_id == Candidate.id)
        .join(FeedbackRequest, FeedbackRequest.application_id == Application.id)
        .join(Response, Response.request_id == FeedbackRequest.id)
        .where(Response.id == response_id)).one_or_none() or (None, None)
    if candidate_id is None or address is None:  # unlinked, or erased
        return False
    notices = sa.select(OutboxMessage).where(OutboxMessage.candidate_id == candidate_id,
                                              OutboxMessage.kind == "feedback_ready")
    if db.session.scalar(notices.where(OutboxMessage.status == "queued").limit(1)) is not None:
        return False
    last = db.session.scalar(sa.select(sa.func.max(OutboxMessage.sent_at)).where(
        OutboxMessage.candidate_id == candidate_id, OutboxMessage.kind == "feedback_ready"))
    now = utcnow()
    due = max(now, last + NOTICE_INTERVAL) if last else now
    db.session.add(OutboxMessage(kind="feedback_ready", candidate_id=candidate_id, to_address=address,
                                 next_attempt_at=due))
    db.session.flush()
    log.info("feedback-ready notice queued for candidate %s, due %s", candidate_id, due.isoformat())
    return True
