"""Answering a feedback request: the one-time use of its link and the stored answers."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Answer, AnswerTally, Application, FeedbackRequest, OutboxMessage, Question, Response
from ..timeutil import utcnow
from ..workdays import working_days_between
from .moderation import queue_advice_for_review
from .notices import announce_feedback, holds_releasable_feedback
from .outgoing_webhooks import iso, queue_event
from .suppressions import is_suppressed

log = logging.getLogger(__name__)
FRESH_LINK_INTERVAL = timedelta(minutes=15)


class AlreadyAnswered(Exception):
    """Another submission used the link first."""


def link_expires_at(link_issued_at: datetime | None) -> datetime | None:
    """When a link issued at ``link_issued_at`` (a request's) stops working."""
    if link_issued_at is None:
        return None
    return link_issued_at + timedelta(days=current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"])


def submit_response(request_id: int, answers: list[dict], now: datetime | None = None,
                    started_from_email: bool = False, survey_id: int | None = None) -> int:
    """Use the request's link up and store its answers; raise AlreadyAnswered if it was used.

    One conditional UPDATE claims the link, so of two concurrent submissions exactly one wins;
    the unique request_id on responses backs it up. Returns the new response's id. Runs on the
    session's connection, in its transaction; the caller commits. ``now``: when it was answered
    (the demo's contacts answer on plausible days; every view leaves it to the clock).
    ``started_from_email``: the form was opened from a score chosen in the e-mail. ``survey_id``:
    the wording answered (a translation of the request's survey; default: the request's).
    """
    connection = db.session.connection()
    moment = {"answered_request": request_id, "now": now or utcnow(), "from_email": started_from_email,
              "answered_survey": survey_id}
    if connection.execute(_CLAIM, moment).rowcount != 1:
        raise AlreadyAnswered(request_id)
    response = connection.execute(_STORE_RESPONSE, moment).one()
    if answers:
        shared = {"response_id": response.id, "company_id": response.company_id, "audience": response.audience,
                  "stage": response.stage}
        connection.execute(_STORE_ANSWERS, [{**answer, **shared} for answer in answers])
    connection.execute(_CANCEL_REMINDERS, {"answered_request": request_id})
    queue_event(response.company_id, "response.created", {  # ids only: no name, address, score or text
        "response_id": response.id, "company_id": response.company_id, "audience": response.audience,
        "stage": response.stage, "submitted_at": iso(moment["now"])}, moment["now"])
    if response.audience == "company":
        connection.execute(_RECORD_SPEED, {"answered_request": request_id,
                                           "days": working_days_between(_decided_on(connection, request_id),
                                                                        moment["now"].date())})
        queue_advice_for_review(response.id, response.company_id)
        if holds_releasable_feedback(response.id):
            announce_feedback(response.id)
    if answers:
        # Last: concurrent answers for the same company wait for these rows until the commit.
        connection.execute(_ADD_TO_TALLIES[connection.dialect.name], {"answered_response": response.id})
    log.info("feedback request %s answered (%s answers)", request_id, len(answers))
    return response.id


_TALLY_KEY = ("company_id", "audience", "stage", "question_id", "value")


def _add_to_tallies(insert, answers: sa.ColumnElement[bool]) -> sa.Insert:
    """Add the ``answers`` to answer_tallies with the dialect's ``insert``: numbers by their
    value, choices by their code, free text not at all. The rows come in key order, so two
    submissions for the same company never lock tally rows in opposite orders (no deadlock)."""
    value = sa.case((Answer.number.is_not(None), sa.cast(Answer.number, sa.String(60))), else_=Answer.text)
    key = (Answer.company_id, Answer.audience, Answer.stage, Answer.question_id, value)
    upsert = insert(AnswerTally.__table__).from_select(
        [*_TALLY_KEY, "count"],
        sa.select(*key, sa.func.count()).join(Question, Question.id == Answer.question_id)
        .where(answers, sa.or_(Answer.number.is_not(None), Question.kind == "choices"))
        .group_by(*key).order_by(*key),
    )
    return upsert.on_conflict_do_update(index_elements=_TALLY_KEY,
                                        set_={"count": AnswerTally.count + upsert.excluded["count"]})


# Built once (the statements of every answer; SQLAlchemy caches their compiled form).
_CLAIM = (sa.update(FeedbackRequest.__table__)
          .where(FeedbackRequest.id == sa.bindparam("answered_request"), FeedbackRequest.answered_at.is_(None))
          .values(answered_at=sa.bindparam("now")))
# The response copies its request's and application's columns (the figures filter on them).
_STORE_RESPONSE = (
    sa.insert(Response.__table__)
    .from_select(
        ["request_id", "survey_id", "audience", "company_id", "position_id", "stage", "outcome", "submitted_at",
         "started_from_email"],
        sa.select(FeedbackRequest.id,
                  sa.func.coalesce(sa.bindparam("answered_survey", type_=sa.Integer()), FeedbackRequest.survey_id),
                  FeedbackRequest.audience, Application.company_id,
                  Application.position_id, Application.stage, Application.outcome,
                  sa.bindparam("now", type_=Response.submitted_at.type),
                  sa.bindparam("from_email", type_=sa.Boolean()))
        .join(Application, Application.id == FeedbackRequest.application_id)
        .where(FeedbackRequest.id == sa.bindparam("answered_request")),
    )
    .returning(Response.id, Response.company_id, Response.audience, Response.stage)
)
_STORE_ANSWERS = sa.insert(Answer.__table__)
# Follow-up speed (CONTRACT §6): the working days from the decision to the company's answer.
_RECORD_SPEED = (sa.update(FeedbackRequest.__table__)
                 .where(FeedbackRequest.id == sa.bindparam("answered_request"))
                 .values(answered_working_days=sa.bindparam("days")))
_DECIDED_ON = (sa.select(Application.decided_on).join(FeedbackRequest, FeedbackRequest.application_id == Application.id)
               .where(FeedbackRequest.id == sa.bindparam("answered_request")))


def _decided_on(connection: sa.Connection, request_id: int) -> date:
    return connection.execute(_DECIDED_ON, {"answered_request": request_id}).scalar_one()
# Nothing left to remind about.
_CANCEL_REMINDERS = (sa.update(OutboxMessage.__table__)
                     .where(OutboxMessage.request_id == sa.bindparam("answered_request"),
                            OutboxMessage.status == "queued", OutboxMessage.kind != "invitation")
                     .values(status="cancelled", last_error="answered"))
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_ADD_TO_TALLIES = {name: _add_to_tallies(insert, Answer.response_id == sa.bindparam("answered_response"))
                   for name, insert in _INSERTS.items()}


def rebuild_answer_tallies() -> int:
    """Recount answer_tallies from the answers (after a bulk load that bypassed submit_response).
    Returns the number of tally rows. Flushes; the caller commits."""
    db.session.execute(sa.delete(AnswerTally))
    db.session.execute(_add_to_tallies(_INSERTS[db.session.get_bind().dialect.name], sa.true()))
    return db.session.scalar(sa.select(sa.func.count()).select_from(AnswerTally))


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
