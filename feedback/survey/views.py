"""The feedback link: show the form, take one answer, explain a used or expired link."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template, request
from sqlalchemy.exc import IntegrityError

from ..extensions import db, limiter
from ..models import STAGE_LABELS, FeedbackRequest
from ..queries.links import LinkedRequest, answered_at, linked_request
from ..services.responses import AlreadyAnswered, link_expires_at, request_fresh_link, submit_response
from ..services.surveys import stored_survey
from ..surveys.rules import applicable_questions
from ..timeutil import utcnow
from ..tokens import LinkCheck, read_feedback_link_token
from . import bp
from .forms import RenewLinkForm, answers_from_form, survey_form_class


def _load(token: str, connection: sa.Connection | None = None) -> tuple[LinkedRequest, LinkCheck]:
    """The request a link names, or a 404 that says nothing about anyone."""
    check = read_feedback_link_token(token)
    if check is None:
        abort(404)
    # One query for the request and everything its page shows (the survey comes from stored_survey).
    feedback_request = linked_request(check.request_id, connection)
    if feedback_request is None or feedback_request.link_issued_at is None:
        abort(404)
    return feedback_request, check


def _expired(feedback_request: LinkedRequest, check: LinkCheck) -> bool:
    return check.expired or utcnow() >= link_expires_at(feedback_request)


def _refusal(feedback_request: LinkedRequest, check: LinkCheck, token: str):
    """The 410 page for a used, closed, replaced or expired link, or None if the link is live."""
    if feedback_request.answered_at is not None:
        return render_template("survey/used.html", answered_at=feedback_request.answered_at), 410
    if feedback_request.cancelled_at is not None:
        return render_template("survey/closed.html"), 410
    replaced = check.signed_at < feedback_request.link_issued_at
    if replaced or _expired(feedback_request, check):
        return render_template("survey/expired.html", token=token, form=RenewLinkForm(), replaced=replaced), 410
    return None


@bp.route("/f/<token>", methods=["GET", "POST"])
@limiter.limit("60 per minute")
def answer(token: str):
    """Show a live link's survey (GET never uses it up) and take its one valid submission."""
    with _link_connection() as connection:
        return _answer(token, connection)


def _link_connection() -> sa.Connection:
    """The link page's own connection, without the ORM session: the page reads and writes a few
    rows with Core statements, and the session's bookkeeping would cost more than they do.

    A GET or HEAD only reads: on PostgreSQL it reads in autocommit mode (no BEGIN and ROLLBACK
    per visit, and psycopg prepares its statement). A POST's answer is one transaction, which
    the view commits; leaving the block any other way rolls it back.
    """
    connection = db.engine.connect()
    if request.method in ("GET", "HEAD") and connection.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def _answer(token: str, connection: sa.Connection):
    feedback_request, check = _load(token, connection)
    refusal = _refusal(feedback_request, check, token)
    if refusal is not None:
        return refusal
    application = feedback_request.application
    survey = stored_survey(feedback_request.survey_id, connection)
    questions = applicable_questions(survey, application)
    form = survey_form_class(survey, application)()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                submit_response(feedback_request, answers_from_form(form, questions), connection)
                connection.commit()
            except (AlreadyAnswered, IntegrityError):
                connection.rollback()
                used_at = answered_at(feedback_request.id, connection)
                return render_template("survey/used.html", answered_at=used_at), 410
            return render_template("survey/thanks.html", audience=feedback_request.audience,
                                   company=application.company.name)
        status = 400
    return render_template(
        "survey/form.html",
        form=form,
        survey=survey,
        questions=questions,
        feedback_request=feedback_request,
        application=application,
        stage_label=STAGE_LABELS[application.stage],
        expires_at=link_expires_at(feedback_request),
    ), status


@bp.route("/f/<token>/renew", methods=["POST"])
@limiter.limit("5 per hour")
def renew(token: str):
    """Ask for a fresh link for an expired one; the answer is the same whatever happened."""
    feedback_request, check = _load(token)
    replaced = check.signed_at < feedback_request.link_issued_at
    # A live link is never replaced from outside: only a dead one can ask for a successor.
    if RenewLinkForm().validate_on_submit() and (replaced or _expired(feedback_request, check)):
        request_fresh_link(db.session.get(FeedbackRequest, feedback_request.id))
        db.session.commit()
    return render_template("survey/renewed.html"), 202
