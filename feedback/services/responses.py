"""Answering a feedback request: the one-time use of its link and the stored answers."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..extensions import db
from ..models import Answer, AnswerTally, FeedbackRequest, OutboxMessage, Question, RequestTally, Response
from ..queries.links import LinkedRequest
from ..queries.questions import question_of
from ..timeutil import utcnow
from .moderation import queue_advice_for_review
from .suppressions import is_suppressed

log = logging.getLogger(__name__)
FRESH_LINK_INTERVAL = timedelta(minutes=15)


class AlreadyAnswered(Exception):
    """Another submission used the link first."""


def link_expires_at(request: FeedbackRequest | LinkedRequest) -> datetime | None:
    """When the request's current link stops working."""
    if request.link_issued_at is None:
        return None
    return request.link_issued_at + timedelta(days=current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"])


def submit_response(request: FeedbackRequest | LinkedRequest, answers: list[dict]) -> Response:
    """Use the request's link up and store its answers; raise AlreadyAnswered if it was used.

    One conditional UPDATE claims the link, so of two concurrent submissions exactly one wins;
    the unique request_id on responses backs it up. Returns the stored response (with its id,
    not added to the session). Flushes; the caller commits.
    """
    now = utcnow()
    # Core statements on the session's connection (its transaction), without the ORM's execute path.
    connection = db.session.connection()
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
    response.id = _claim_and_insert(connection, response)
    if answers:
        _store_answers(connection, response, answers)
        _tally(connection, response, answers)
    # Nothing left to remind about.
    connection.execute(_statements()["cancel_reminders"], {"answered_request": request.id})
    if request.audience == "company":
        queue_advice_for_review(response.id, response.company_id)
    log.info("feedback request %s answered (%s answers)", request.id, len(answers))
    return response


_RESPONSE_COLUMNS = ("request_id", "survey_id", "audience", "company_id", "position_id", "stage", "outcome",
                     "submitted_at")


def _claim_and_insert(connection: sa.Connection, response: Response) -> int:
    """Claim the link with the conditional UPDATE, then insert the response: its new id.

    Raises AlreadyAnswered when the claim found the link used. PostgreSQL runs both as one
    statement (the UPDATE a CTE the INSERT selects from: one round trip fewer, and no row when the
    claim failed); SQLite has no data-modifying CTE and runs them one after the other.
    """
    statements = _statements()
    claim = {"answered_request": response.request_id, "now": response.submitted_at}
    values = {column: getattr(response, column) for column in _RESPONSE_COLUMNS}
    if connection.dialect.name == "postgresql":
        # Prefixed names: a parameter named like a feedback_requests column would join the UPDATE's SET.
        inserted = {f"response_{column}": value for column, value in values.items()}
        response_id = connection.execute(statements["claim_and_insert"], claim | inserted).scalar()
    elif connection.execute(statements["claim"], claim).rowcount == 1:
        response_id = connection.execute(statements["response"], values).scalar_one()
    else:
        response_id = None
    if response_id is None:
        raise AlreadyAnswered(response.request_id)
    return response_id


def _statements() -> dict[str | tuple[str, int], sa.Executable]:
    """submit_response's statements, built once per dialect (building them costs more than running them)."""
    dialect = db.engine.dialect.name
    if dialect not in _STATEMENTS:
        requests, outbox, responses = FeedbackRequest.__table__, OutboxMessage.__table__, Response.__table__
        claim = (sa.update(requests)
                 .where(requests.c.id == sa.bindparam("answered_request"), requests.c.answered_at.is_(None))
                 .values(answered_at=sa.bindparam("now")))
        upsert = sqlite_insert(AnswerTally.__table__)
        _STATEMENTS[dialect] = {
            "claim": claim,
            "response": sa.insert(responses).returning(responses.c.id),
            "claim_and_insert": _insert_from_claim(claim),
            # SQLite's executemany forms (PostgreSQL: _rows_statement).
            "answers": sa.insert(Answer.__table__),
            "tallies": upsert.on_conflict_do_update(
                index_elements=_TALLY_KEY, set_={"count": AnswerTally.__table__.c.count + upsert.excluded["count"]},
            ),
            "cancel_reminders": sa.update(outbox)
            .where(outbox.c.request_id == sa.bindparam("answered_request"), outbox.c.status == "queued",
                   outbox.c.kind != "invitation")
            .values(status="cancelled", last_error="answered"),
        }
    return _STATEMENTS[dialect]


_STATEMENTS: dict[str, dict[str | tuple[str, int], sa.Executable]] = {}


def _insert_from_claim(claim: sa.Update) -> sa.Insert:
    """PostgreSQL: INSERT the response from the claim's RETURNING row (none when the link was used)."""
    responses = Response.__table__
    claimed = claim.returning(FeedbackRequest.__table__.c.id).cte("claimed")
    values = [sa.bindparam(f"response_{column}", type_=responses.c[column].type) for column in _RESPONSE_COLUMNS[1:]]
    return (sa.insert(responses).from_select(_RESPONSE_COLUMNS, sa.select(claimed.c.id, *values))
            .returning(responses.c.id))


_TALLY_KEY = ("company_id", "audience", "stage", "question_id", "value")


def _insert_rows(connection: sa.Connection, kind: str, shared: dict, rows: list[dict]) -> None:
    """Insert (or, for tallies, upsert) rows that share the ``shared`` columns, in one statement.

    Measured per dialect: psycopg would send an executemany as one statement per row, so PostgreSQL
    gets one multi-row INSERT; SQLite runs its executemany faster than the multi-row form.
    """
    if connection.dialect.name != "postgresql":
        connection.execute(_statements()[kind], [shared | row for row in rows])
        return
    params = dict(shared)
    for number, row in enumerate(rows):
        params.update({f"{column}_{number}": value for column, value in row.items()})
    connection.execute(_rows_statement(kind, tuple(shared), tuple(rows[0]), len(rows)), params)


def _rows_statement(kind: str, shared: tuple[str, ...], per_row: tuple[str, ...], count: int) -> sa.TextClause:
    """PostgreSQL's multi-row INSERT of ``count`` rows of ``kind``, built once per count.

    Text, because SQLAlchemy does not cache the compiled form of a multi-row ``values()`` (it would
    compile it on every request); the values are plain integers and strings, with no type to convert."""
    statements = _statements()
    key = (kind, count)
    if key not in statements:
        rows = ", ".join(
            "(" + ", ".join([f":{column}" for column in shared] + [f":{column}_{row}" for column in per_row]) + ")"
            for row in range(count)
        )
        table = Answer.__tablename__ if kind == "answers" else AnswerTally.__tablename__
        conflict = "" if kind == "answers" else (
            f" ON CONFLICT ({', '.join(_TALLY_KEY)}) DO UPDATE SET count = {table}.count + excluded.count"
        )
        statements[key] = sa.text(f"INSERT INTO {table} ({', '.join(shared + per_row)}) VALUES {rows}{conflict}")
    return statements[key]


def _store_answers(connection: sa.Connection, response: Response, answers: list[dict]) -> None:
    """Insert the answers, each with the response columns the report filters on."""
    shared = {"response_id": response.id, "company_id": response.company_id, "audience": response.audience,
              "stage": response.stage}
    rows = [{"question_id": answer["question_id"], "number": answer.get("number"), "text": answer.get("text")}
            for answer in answers]
    _insert_rows(connection, "answers", shared, rows)


def _tally(connection: sa.Connection, response: Response, answers: list[dict]) -> None:
    """Add the answers to the running tallies (answer_tallies) in the same transaction.

    Rows are upserted in key order, so two submissions for the same company never lock them in
    opposite orders (no deadlock on PostgreSQL).
    """
    counts: dict[tuple[int, str], int] = {}
    for answer in answers:
        if answer.get("number") is not None:
            value = str(answer["number"])
        elif answer.get("text") is not None and question_of(answer["question_id"])[1] == "choices":
            value = answer["text"]
        else:
            continue
        counts[(answer["question_id"], value)] = counts.get((answer["question_id"], value), 0) + 1
    if counts:
        shared = {"company_id": response.company_id, "audience": response.audience, "stage": response.stage}
        rows = [{"question_id": question_id, "value": value, "count": count}
                for (question_id, value), count in sorted(counts.items())]
        _insert_rows(connection, "tallies", shared, rows)


def rebuild_answer_tallies() -> int:
    """Recount answer_tallies from the answers (after a bulk load that bypassed submit_response).
    Returns the number of tally rows. Flushes; the caller commits."""
    db.session.execute(sa.delete(AnswerTally))
    value = sa.case((Answer.number.is_not(None), sa.cast(Answer.number, sa.String(60))), else_=Answer.text)
    db.session.execute(sa.insert(AnswerTally).from_select(
        ["company_id", "audience", "stage", "question_id", "value", "count"],
        sa.select(Answer.company_id, Answer.audience, Answer.stage, Answer.question_id, value, sa.func.count())
        .join(Question, Question.id == Answer.question_id)
        .where(sa.or_(Answer.number.is_not(None), Question.kind == "choices"))
        .group_by(Answer.company_id, Answer.audience, Answer.stage, Answer.question_id, value),
    ))
    return db.session.scalar(sa.select(sa.func.count()).select_from(AnswerTally))


def rebuild_request_tallies() -> int:
    """Recount request_tallies from the requests, after a bulk load that ran with triggers off
    (PostgreSQL's ``session_replication_role = replica``, as pg_restore does); the database's
    triggers keep them otherwise. Returns the number of tally rows. Flushes; the caller commits."""
    db.session.execute(sa.delete(RequestTally))
    db.session.execute(sa.insert(RequestTally).from_select(
        ["company_id", "audience", "sent", "completed"],
        sa.select(FeedbackRequest.company_id, FeedbackRequest.audience, sa.func.count(FeedbackRequest.first_sent_at),
                  sa.func.count(FeedbackRequest.answered_at))
        .where(sa.or_(FeedbackRequest.first_sent_at.is_not(None), FeedbackRequest.answered_at.is_not(None)))
        .group_by(FeedbackRequest.company_id, FeedbackRequest.audience),
    ))
    return db.session.scalar(sa.select(sa.func.count()).select_from(RequestTally))


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
