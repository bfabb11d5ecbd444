"""What a feedback link's page reads: the request with the names the page shows, in one row."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, Company, FeedbackRequest, Position

# Built once: every visit of a link runs it (SQLAlchemy caches its compiled form).
_LINKED = (
    sa.select(
        FeedbackRequest.id, FeedbackRequest.survey_id, FeedbackRequest.audience, FeedbackRequest.link_issued_at,
        FeedbackRequest.answered_at, FeedbackRequest.cancelled_at, FeedbackRequest.recipient_email,
        Application.stage, Application.outcome,
        Company.name.label("company_name"), Position.title.label("position_title"),
        Application.candidate_name,
        # The language of the person the link was sent to: a candidate's own, else their company's.
        sa.case((FeedbackRequest.audience == "candidate", sa.func.coalesce(Application.locale, Company.locale)),
                else_=Company.locale).label("locale"),
    )
    .join(Application, Application.id == FeedbackRequest.application_id)
    .join(Company, Company.id == Application.company_id)
    .join(Position, Position.id == Application.position_id)
    .where(FeedbackRequest.id == sa.bindparam("request_id"))
)


def linked_request(request_id: int) -> sa.Row | None:
    """The request's id, survey_id, audience, link_issued_at, answered_at, cancelled_at and
    recipient_email (None once the person is erased), its
    application's stage and outcome, company_name, position_title, candidate_name and the person's
locale (None: FEEDBACK_DEFAULT_LOCALE); or None."""
    return db.session.connection().execute(_LINKED, {"request_id": request_id}).first()


def answered_at(request_id: int) -> datetime | None:
    """When the request was answered (read again after losing a race to answer it)."""
    return db.session.scalar(sa.select(FeedbackRequest.answered_at).where(FeedbackRequest.id == request_id))
