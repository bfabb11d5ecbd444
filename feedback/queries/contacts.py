"""A company contact's candidates: every request about a declined candidate sent to one address."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, Company, FeedbackRequest, Position


def contact_requests(request_id: int) -> list[sa.Row]:
    """The company requests mailed to the address ``request_id`` went to (that request included), in
    decision order: id, candidate_name, position, company, stage, decided_on, answered_at,
    link_issued_at. Cancelled ones and those of an erased contact are left out; [] when the request
    is no company request."""
    recipient = (sa.select(FeedbackRequest.recipient_email)
                 .where(FeedbackRequest.id == request_id, FeedbackRequest.audience == "company")
                 .scalar_subquery())
    return db.session.execute(
        sa.select(FeedbackRequest.id, Application.candidate_name, Position.title.label("position"),
                  Company.name.label("company"), Company.locale, Application.stage, Application.decided_on,
                  FeedbackRequest.answered_at, FeedbackRequest.link_issued_at)
        .join(Application, Application.id == FeedbackRequest.application_id)
        .join(Company, Company.id == Application.company_id)
        .join(Position, Position.id == Application.position_id)
        .where(FeedbackRequest.audience == "company", FeedbackRequest.recipient_email == recipient,
               FeedbackRequest.cancelled_at.is_(None), FeedbackRequest.link_issued_at.is_not(None))
        .order_by(Application.decided_on, FeedbackRequest.id)).all()
