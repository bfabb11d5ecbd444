"""Answering a feedback request: the one-time use of its link and the stored answers."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..database import DriverStatement
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


class NewResponse(NamedTuple):
    """The columns of a response about to be stored: a plain row, since building an ORM object
    costs more than storing the response does."""

    request_id: int
    survey_id: int
    audience: str
    company_id: int
    position_id: int
    stage: str
    outcome: str
    submitted_at: datetime


def submit_response(request: FeedbackRequest | LinkedRequest, answers: list[dict],
                    connection: sa.Connection | None = None) -> int:
    """Use the request's link up and store its answers; raise AlreadyAnswered if it was used.

    One conditional UPDATE claims the link, so of two concurrent submissions exactly one wins;
    the unique request_id on responses backs it up. Returns the new response's id. Writes in the
    transaction of ``connection`` (by default the session's); the caller commits.
    """
    application = request.application
    response = NewResponse(request.id, request.survey_id, request.audience, application.company_id,
                           application.position_id, application.stage, application.outcome, utcnow())
    # Statements run on the connection's driver cursor, in its transaction (DriverStatement).
    connection = connection if connection is not None else db.session.connection()
    if connection.dialect.name == "postgresql":
        response_id = _submit_in_one_statement(connection, response, answers)
    else:
        response_id = _claim_and_insert(connection, response)
        if answers:
            _store_answers(connection, response_id, response, answers)
            _tally(connection, response, answers)
        # Nothing left to remind about.
        _statements()["cancel_reminders"].execute(connection, {"answered_request": request.id})
    if request.audience == "company":
        queue_advice_for_review(response_id, response.company_id, connection)
    log.info("feedback request %s answered (%s answers)", request.id, len(answers))
    return response_id


_RESPONSE_COLUMNS = NewResponse._fields
_TALLY_KEY = ("company_id", "audience", "stage", "question_id", "value")


def _submit_in_one_statement(connection: sa.Connection, response: NewResponse, answers: list[dict]) -> int:
    """PostgreSQL: claim the link, insert the response, its answers and tallies and cancel its
    reminders in one statement (one round trip instead of four): the new response's id.

    Raises AlreadyAnswered when the claim found the link used; then the statement wrote nothing,
    since everything it writes hangs on the claim's RETURNING row.
    """
    params = {f"response_{column}": getattr(response, column) for column in _RESPONSE_COLUMNS[1:]}
    params["answered_request"], params["now"] = response.request_id, response.submitted_at
    params["answer_question_ids"] = [answer["question_id"] for answer in answers]
    params["answer_numbers"] = [answer.get("number") for answer in answers]
    params["answer_texts"] = [answer.get("text") for answer in answers]
    tallies = _tally_counts(answers)
    params["tally_question_ids"] = [question_id for question_id, _value, _count in tallies]
    params["tally_values"] = [value for _question_id, value, _count in tallies]
    params["tally_counts"] = [count for _question_id, _value, count in tallies]
    row = _statements()["submit"].first(connection, params)
    if row is None or row[0] is None:
        raise AlreadyAnswered(response.request_id)
    return row[0]


def _claim_and_insert(connection: sa.Connection, response: NewResponse) -> int:
    """SQLite: claim the link with the conditional UPDATE, then insert the response: its new id.

    Raises AlreadyAnswered when the claim found the link used (SQLite has no data-modifying CTE,
    so the two run one after the other).
    """
    statements = _statements()
    claim = {"answered_request": response.request_id, "now": response.submitted_at}
    if statements["claim"].execute(connection, claim).rowcount != 1:
        raise AlreadyAnswered(response.request_id)
    return statements["response"].execute(connection, response._asdict()).fetchone()[0]


def _statements() -> dict[str, DriverStatement]:
    """submit_response's statements, compiled once per dialect and run on the driver's cursor
    (DriverStatement: SQLAlchemy's execution path costs more than SQLite takes to run them)."""
    dialect = db.engine.dialect
    if dialect.name not in _STATEMENTS:
        requests, outbox, responses = FeedbackRequest.__table__, OutboxMessage.__table__, Response.__table__
        claim = (sa.update(requests)
                 .where(requests.c.id == sa.bindparam("answered_request"), requests.c.answered_at.is_(None))
                 .values(answered_at=sa.bindparam("now")))
        if dialect.name == "postgresql":
            _STATEMENTS[dialect.name] = {"submit": DriverStatement(_submit_statement(claim), dialect)}
        else:
            upsert = sqlite_insert(AnswerTally.__table__)
            _STATEMENTS[dialect.name] = {
                "claim": DriverStatement(claim, dialect),
                "response": DriverStatement(sa.insert(responses).returning(responses.c.id), dialect, _RESPONSE_COLUMNS),
                # An executemany of plain tuples: measured faster on SQLite than a multi-row INSERT or json_each.
                "answers": _in_order(DriverStatement(sa.insert(Answer.__table__), dialect, _ANSWER_COLUMNS),
                                     _ANSWER_COLUMNS),
                "tallies": _in_order(DriverStatement(upsert.on_conflict_do_update(
                    index_elements=_TALLY_KEY, set_={"count": AnswerTally.__table__.c.count + upsert.excluded["count"]},
                ), dialect, _TALLY_COLUMNS), _TALLY_COLUMNS),
                "cancel_reminders": DriverStatement(
                    sa.update(outbox)
                    .where(outbox.c.request_id == sa.bindparam("answered_request"), outbox.c.status == "queued",
                           outbox.c.kind != "invitation")
                    .values(status="cancelled", last_error="answered"), dialect),
            }
    return _STATEMENTS[dialect.name]


_STATEMENTS: dict[str, dict[str, DriverStatement]] = {}
_ANSWER_COLUMNS = ("response_id", "question_id", "company_id", "audience", "stage", "number", "text")
_TALLY_COLUMNS = ("company_id", "audience", "stage", "question_id", "value", "count")


def _in_order(statement: DriverStatement, columns: tuple[str, ...]) -> DriverStatement:
    """``statement``, checked to take its parameters in the order of ``columns`` (the order in
    which _store_answers and _tally build their rows)."""
    if statement.order != columns:
        raise RuntimeError(f"parameters in the order {statement.order}, not {columns}")
    return statement


def _submit_statement(claim: sa.Update) -> sa.Select:
    """PostgreSQL's whole answer as one statement of data-modifying CTEs.

    The claim's RETURNING row feeds the response's INSERT, whose RETURNING row feeds the answers'
    and the tallies' INSERTs (so nothing is written when the link was used); the reminders are
    cancelled for the claimed request only. Answers and tallies come as one array per column,
    unnested and inserted in their order (tallies in key order: see _tally_counts), so the
    statement's text is the same whatever the number of answers and psycopg prepares it.
    Parameters are prefixed: one named like a column would join an UPDATE's SET.
    """
    requests, outbox = FeedbackRequest.__table__, OutboxMessage.__table__
    responses, answers, tallies = Response.__table__, Answer.__table__, AnswerTally.__table__
    claimed = claim.returning(requests.c.id).cte("claimed")
    response_values = {column: sa.bindparam(f"response_{column}", type_=responses.c[column].type)
                       for column in _RESPONSE_COLUMNS[1:]}
    response = (sa.insert(responses)
                .from_select(_RESPONSE_COLUMNS, sa.select(claimed.c.id, *response_values.values()))
                .returning(responses.c.id)
                .cte("response"))
    shared = {column: response_values[column] for column in ("company_id", "audience", "stage")}

    def unnested(name: str, prefix: str, table: sa.Table, columns: dict[str, str]) -> sa.TableValuedAlias:
        """The rows of ``table`` given as arrays: one parameter per column, ``prefix`` + its name."""
        arrays = [sa.cast(sa.bindparam(prefix + parameter), postgresql.ARRAY(table.c[column].type))
                  for column, parameter in columns.items()]
        return (sa.func.unnest(*arrays).table_valued(*columns, with_ordinality="position")
                .render_derived(name=name))

    answer_rows = unnested("answer_rows", "answer_", answers,
                           {"question_id": "question_ids", "number": "numbers", "text": "texts"})
    store_answers = sa.insert(answers).from_select(
        ["response_id", *shared, "question_id", "number", "text"],
        sa.select(response.c.id, *shared.values(), answer_rows.c.question_id, answer_rows.c.number,
                  answer_rows.c.text)
        .select_from(response).join(answer_rows, sa.true()).order_by(answer_rows.c.position),
    )
    tally_rows = unnested("tally_rows", "tally_", tallies,
                          {"question_id": "question_ids", "value": "values", "count": "counts"})
    upsert = postgresql.insert(tallies).from_select(
        [*shared, "question_id", "value", "count"],
        sa.select(*shared.values(), tally_rows.c.question_id, tally_rows.c.value, tally_rows.c.count)
        .select_from(response).join(tally_rows, sa.true()).order_by(tally_rows.c.position),
    )
    add_to_tallies = upsert.on_conflict_do_update(
        index_elements=_TALLY_KEY, set_={"count": tallies.c.count + upsert.excluded["count"]})
    # Nothing left to remind about.
    cancel_reminders = (
        sa.update(outbox)
        .where(outbox.c.request_id == sa.select(claimed.c.id).scalar_subquery(), outbox.c.status == "queued",
               outbox.c.kind != "invitation")
        .values(status="cancelled", last_error="answered")
    )
    return sa.select(response.c.id).add_cte(
        store_answers.cte("stored_answers"), add_to_tallies.cte("added_tallies"), cancel_reminders.cte("cancelled"),
    )


def _store_answers(connection: sa.Connection, response_id: int, response: NewResponse, answers: list[dict]) -> None:
    """SQLite: insert the answers, each with the response columns the report filters on."""
    _statements()["answers"].executemany(connection, [
        (response_id, answer["question_id"], response.company_id, response.audience, response.stage,
         answer.get("number"), answer.get("text"))
        for answer in answers
    ])


def _tally(connection: sa.Connection, response: NewResponse, answers: list[dict]) -> None:
    """SQLite: add the answers to the running tallies (answer_tallies) in the same transaction."""
    tallies = _tally_counts(answers)
    if tallies:
        shared = (response.company_id, response.audience, response.stage)
        _statements()["tallies"].executemany(connection, [shared + tally for tally in tallies])


def _tally_counts(answers: list[dict]) -> list[tuple[int, str, int]]:
    """What the answers add to the running tallies: (question id, value, count) in key order.

    Upserted in this order, so two submissions for the same company never lock tally rows in
    opposite orders (no deadlock on PostgreSQL). Free text is not tallied.
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
    return [(question_id, value, count) for (question_id, value), count in sorted(counts.items())]


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
