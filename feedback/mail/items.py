"""The outbox rows an e-mail is rendered from: flat items loaded for a whole batch in one query."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, Candidate, Company, FeedbackRequest, OutboxMessage, Position


@dataclass
class OutgoingItem:
    """Everything one outbox row's e-mail needs."""

    outbox_id: int
    kind: str
    to_address: str
    status: str
    request_id: int | None
    audience: str | None
    link_issued_at: datetime | None
    candidate_id: int | None
    candidate_name: str | None
    company: str | None
    position: str | None
    stage: str | None
    outcome: str | None
    decided_on: date | None = None
    contact_address: str | None = None  # the request's recipient (an escalation goes to someone else)
    locale: str | None = None  # the recipient's language (a BCP 47 tag); none: FEEDBACK_DEFAULT_LOCALE


def load_outgoing(ids: list[int]) -> dict[int, OutgoingItem]:
    """The outgoing items for these outbox ids, in one query (per thousand ids)."""
    # A request's candidate comes through its application; a view-link mail names the candidate itself.
    candidate_id = sa.func.coalesce(Application.candidate_id, OutboxMessage.candidate_id)
    # The recipient's language: a candidate's for this application, else their company's; a contact's
    # company's; a notice without a request, the candidate's own. (An escalation's: render_items.)
    locale = sa.case(
        (FeedbackRequest.audience == "candidate", sa.func.coalesce(Application.locale, Company.locale)),
        (FeedbackRequest.audience == "company", Company.locale),
        (OutboxMessage.request_id.is_(None), Candidate.locale),
        else_=None)
    query = (
        sa.select(
            OutboxMessage.id, OutboxMessage.kind, OutboxMessage.to_address, OutboxMessage.status,
            OutboxMessage.request_id, FeedbackRequest.audience, FeedbackRequest.link_issued_at,
            candidate_id, sa.func.coalesce(Application.candidate_name, Candidate.name), Company.name, Position.title, Application.stage, Application.outcome,
            Application.decided_on, FeedbackRequest.recipient_email, locale,
        )
        .outerjoin(FeedbackRequest, FeedbackRequest.id == OutboxMessage.request_id)
        .outerjoin(Application, Application.id == FeedbackRequest.application_id)
        .outerjoin(Company, Company.id == Application.company_id)
        .outerjoin(Position, Position.id == Application.position_id)
        .outerjoin(Candidate, Candidate.id == candidate_id)
    )
    items: dict[int, OutgoingItem] = {}
    for start in range(0, len(ids), 1000):
        for row in db.session.execute(query.where(OutboxMessage.id.in_(ids[start:start + 1000]))):
            items[row[0]] = OutgoingItem(*row)
    return items
