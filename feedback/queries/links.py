"""What a feedback link's page needs, read in one Core query (no ORM objects on the hot path).

The link page (GET and POST /f/<token>) is the one page thousands of candidates open within the
same hour, so it reads plain rows: a request with its application, company, position and
candidate names, in one statement compiled once and run on the driver's cursor
(database.DriverStatement). The attribute names are the models' (``request.application.company.name``),
so templates and services take either these rows or the ORM objects.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from ..database import DriverStatement
from ..extensions import db
from ..models import Application, Candidate, Company, FeedbackRequest, Position


class CompanyName(NamedTuple):
    id: int
    name: str


class PositionTitle(NamedTuple):
    id: int
    title: str


class CandidateName(NamedTuple):
    name: str | None


class LinkedApplication(NamedTuple):
    id: int
    company_id: int
    position_id: int
    stage: str
    outcome: str
    company: CompanyName
    position: PositionTitle
    candidate: CandidateName


class LinkedRequest(NamedTuple):
    id: int
    survey_id: int
    audience: str
    recipient_email: str | None
    link_issued_at: datetime | None
    answered_at: datetime | None
    cancelled_at: datetime | None
    application: LinkedApplication


_requests, _applications = FeedbackRequest.__table__, Application.__table__
_LINKED = (
    sa.select(
        _requests.c.id, _requests.c.survey_id, _requests.c.audience, _requests.c.recipient_email,
        _requests.c.link_issued_at, _requests.c.answered_at, _requests.c.cancelled_at,
        _applications.c.id, _applications.c.company_id, _applications.c.position_id, _applications.c.stage,
        _applications.c.outcome, Company.__table__.c.name, Position.__table__.c.title, Candidate.__table__.c.name,
    )
    .select_from(_requests)
    .join(_applications, _applications.c.id == _requests.c.application_id)
    .join(Company.__table__, Company.__table__.c.id == _applications.c.company_id)
    .join(Position.__table__, Position.__table__.c.id == _applications.c.position_id)
    .join(Candidate.__table__, Candidate.__table__.c.id == _applications.c.candidate_id)
    .where(_requests.c.id == sa.bindparam("request_id"))
)


_COMPILED: dict[str, DriverStatement] = {}


def linked_request(request_id: int, connection: sa.Connection | None = None) -> LinkedRequest | None:
    """The request with everything its link page shows, or None (read on ``connection``, by
    default the session's)."""
    connection = connection if connection is not None else db.session.connection()
    statement = _COMPILED.get(connection.dialect.name)
    if statement is None:
        statement = _COMPILED[connection.dialect.name] = DriverStatement(_LINKED, connection.dialect)
    row = statement.first(connection, {"request_id": request_id})
    if row is None:
        return None
    (id_, survey_id, audience, recipient, issued, answered, cancelled,
     application_id, company_id, position_id, stage, outcome, company, position, candidate) = row
    return LinkedRequest(
        id_, survey_id, audience, recipient, issued, answered, cancelled,
        LinkedApplication(application_id, company_id, position_id, stage, outcome, CompanyName(company_id, company),
                          PositionTitle(position_id, position), CandidateName(candidate)),
    )


def answered_at(request_id: int, connection: sa.Connection | None = None) -> datetime | None:
    """When the request was answered (read again after losing a race to answer it)."""
    connection = connection if connection is not None else db.session.connection()
    return connection.scalar(sa.select(FeedbackRequest.answered_at).where(FeedbackRequest.id == request_id))
