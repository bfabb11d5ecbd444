"""Answering a feedback request: the one-time use of its link and the stored answers."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Answer, FeedbackRequest, OutboxMessage, Response
from ..timeutil import utcnow
from .moderation import queue_advice_for_review
from .suppressions import is_suppressed

log = logging.getLogger(__name__)
FRESH_LINK_INTERVAL = timedelta(minutes=15)


class AlreadyAnswered(Exception):
    """Another submission used the link first."""


def link_expires_at(request: FeedbackRequest) -> datetime | None:
    """When the request's current link stops working."""
    if request.link_issued_at is None:
        return None
    return request.link_issued_at + timedelta(days=current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"])


def submit_response(request: FeedbackRequest, answers: list[dict]) -> Response:
    """Use the request's link up and store its answers; raise AlreadyAnswered if it was used.

    One conditional UPDATE claims the link, so of two concurrent submissions exactly one wins;
    the unique request_id on responses backs it up. Flushes; the caller commits.
    """
    now = utcnow()
    claimed = db.session.execute(
        sa.update(FeedbackRequest)
        .where(FeedbackRequest.id == request.id, FeedbackRequest.answered_at.is_(None))
        .values(answered_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise AlreadyAnswered(request.id)
    application = request.application
    response = Response(
        request_id=request.id,
        survey_id=request.survey_id,
        audience=request.audience,
        company_id=application.company_id,
        position_id=application.position_id,
        stage=application.stage,
        outcome=application.outcome,
        submitted_at=now,
    )
    db.session.add(response)
    db.session.flush()
    if answers:
        db.session.execute(sa.insert(Answer), [answer | {"response_id": response.id} for answer in answers])
    # Nothing left to remind about.
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.request_id == request.id, OutboxMessage.status == "queued",
               OutboxMessage.kind != "invitation")
        .values(status="cancelled", last_error="answered")
        .execution_options(synchronize_session=False)
    )
    if request.audience == "company":
        queue_advice_for_review(response)
    log.info("feedback request %s answered (%s answers)", request.id, len(answers))
    return response


def request_fresh_link(request: FeedbackRequest) -> bool:
    """Queue a fresh link for an unanswered request whose link expired; the old link dies now.

    Returns False (and does nothing) when the request is answered or cancelled, or a fresh link
    was already queued within the last quarter of an hour. Flushes; the caller commits.
    """
    if request.answered_at is not None or request.cancelled_at is not None or not request.recipient_email:
        return False
    now = utcnow()
    recent = db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.request_id == request.id,
            OutboxMessage.kind == "fresh_link",
            OutboxMessage.created_at > now - FRESH_LINK_INTERVAL,
        )
    )
    if recent:
        return False
    if is_suppressed(request.recipient_email):
        return False
    request.link_issued_at = now.replace(microsecond=0)
    db.session.add(OutboxMessage(kind="fresh_link", request_id=request.id, to_address=request.recipient_email))
    db.session.flush()
    log.info("fresh link queued for feedback request %s", request.id)
    return True
