"""Figures for the recruiter workspace: per-company rates, batch funnels, the review queue."""
from __future__ import annotations

import sqlalchemy as sa

from ..access import scope_to_companies
from ..extensions import db
from ..models import (
    AdviceReview,
    Answer,
    Application,
    Company,
    FeedbackRequest,
    ImportBatch,
    OutboxMessage,
    Question,
    Response,
    User,
)
from ..surveys.scoring import DETRACTOR_MAX, PROMOTER_MIN


def company_overview(user: User, min_responses: int) -> list[dict]:
    """Per visible company: requests sent and answered per audience, pending answers, NPS.

    Sorted lowest NPS first (companies without enough responses last), so that the companies
    needing attention come first.
    """
    requests = scope_to_companies(
        sa.select(
            Company.id, Company.name, FeedbackRequest.audience,
            sa.func.count(FeedbackRequest.first_sent_at),
            sa.func.count(FeedbackRequest.answered_at),
        )
        .join(Application, Application.company_id == Company.id)
        .join(FeedbackRequest, FeedbackRequest.application_id == Application.id)
        .group_by(Company.id, Company.name, FeedbackRequest.audience),
        Company.id, user,
    )
    rows: dict[int, dict] = {}
    for company_id, name, audience, sent, answered in db.session.execute(requests):
        row = rows.setdefault(company_id, {"id": company_id, "name": name, "candidate": [0, 0], "company": [0, 0]})
        row[audience] = [sent, answered]
    nps_rows = db.session.execute(scope_to_companies(
        sa.select(
            Response.company_id,
            sa.func.count(sa.distinct(Response.id)),
            sa.func.count(Answer.id),
            sa.func.sum(sa.case((Answer.number >= PROMOTER_MIN, 1), else_=0)),
            sa.func.sum(sa.case((Answer.number <= DETRACTOR_MAX, 1), else_=0)),
        )
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .where(Response.audience == "candidate", Question.key == "nps", Answer.number.is_not(None))
        .group_by(Response.company_id),
        Response.company_id, user,
    ))
    for company_id, responses, n, promoters, detractors in nps_rows:
        if company_id in rows and n and responses >= min_responses:
            rows[company_id]["nps"] = 100.0 * (int(promoters) - int(detractors)) / n
    for row in rows.values():
        row.setdefault("nps", None)
        row["pending"] = (row["candidate"][0] - row["candidate"][1]) + (row["company"][0] - row["company"][1])
    return sorted(rows.values(), key=lambda r: (r["nps"] is None, r["nps"] if r["nps"] is not None else 0, r["name"]))


def recent_batches(user: User, limit: int = 20) -> list[ImportBatch]:
    """The import batches the user may see, newest first."""
    query = sa.select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)
    if user.role != "admin":
        about_mine = scope_to_companies(
            sa.select(Application.import_batch_id).where(Application.import_batch_id.is_not(None)),
            Application.company_id, user,
        )
        query = query.where(sa.or_(ImportBatch.created_by_id == user.id, ImportBatch.id.in_(about_mine)))
    return list(db.session.scalars(query))


def batch_funnel(batch_id: int) -> dict[str, int]:
    """A batch's delivery funnel: e-mails queued, sent, failed, cancelled; requests answered."""
    statuses = dict(db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count())
        .join(FeedbackRequest, FeedbackRequest.id == OutboxMessage.request_id)
        .join(Application, Application.id == FeedbackRequest.application_id)
        .where(Application.import_batch_id == batch_id, OutboxMessage.kind == "invitation")
        .group_by(OutboxMessage.status)
    ).all())
    requests, answered = db.session.execute(
        sa.select(sa.func.count(FeedbackRequest.id), sa.func.count(FeedbackRequest.answered_at))
        .join(Application, Application.id == FeedbackRequest.application_id)
        .where(Application.import_batch_id == batch_id)
    ).one()
    return {
        "requests": requests,
        "queued": statuses.get("queued", 0),
        "sent": statuses.get("sent", 0),
        "failed": statuses.get("failed", 0),
        "cancelled": statuses.get("cancelled", 0),
        "answered": answered,
    }


def pending_reviews(user: User) -> list[tuple[AdviceReview, str, str, str]]:
    """Advice waiting for review in the user's companies: (review, text, company, position)."""
    query = scope_to_companies(
        sa.select(AdviceReview, Answer.text, Company.name, Application.stage)
        .join(Answer, Answer.id == AdviceReview.answer_id)
        .join(Company, Company.id == AdviceReview.company_id)
        .join(Response, Response.id == Answer.response_id)
        .join(FeedbackRequest, FeedbackRequest.id == Response.request_id)
        .join(Application, Application.id == FeedbackRequest.application_id)
        .where(AdviceReview.status == "pending")
        .order_by(AdviceReview.id),
        AdviceReview.company_id, user,
    )
    return db.session.execute(query).all()
