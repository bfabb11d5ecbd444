"""Figures for the recruiter workspace: per-company rates, batch funnels, the review queue."""
from __future__ import annotations

import sqlalchemy as sa

from ..access import scope_to_companies, visible_company_ids
from ..extensions import db
from ..models import (
    AdviceReview,
    Answer,
    AnswerTally,
    Application,
    Company,
    FeedbackRequest,
    ImportBatch,
    OutboxMessage,
    Question,
    Response,
    User,
)
from ..surveys.scoring import nps_of
from . import figures


def company_overview(user: User, min_responses: int) -> list[dict]:
    """Per visible company: requests sent and answered per audience, pending answers, NPS.

    Sorted lowest NPS first (companies without enough responses last), so that the companies
    needing attention come first.
    """
    ids = visible_company_ids(user)
    requests = FeedbackRequest.__table__.c
    rows: dict[int, dict] = {}
    for company_id, name, audience, sent, answered in db.session.execute(scope_to_companies(
        sa.select(Company.id, Company.name, requests.audience, sa.func.count(requests.first_sent_at),
                  sa.func.count(requests.answered_at))
        .join(FeedbackRequest, FeedbackRequest.company_id == Company.id)
        .group_by(Company.id, Company.name, requests.audience),
        Company.id, user,
    )):
        row = rows.setdefault(company_id, {"id": company_id, "name": name, "candidate": [0, 0], "company": [0, 0]})
        row[audience] = [sent, answered]
    responses = figures.response_counts(
        [Response.audience == "candidate", *([] if ids is None else [Response.company_id.in_(ids)])],
        (Response.company_id,))
    scores = figures.tallied(
        [AnswerTally.audience == "candidate", Question.key == "nps",
         *([] if ids is None else [AnswerTally.company_id.in_(ids)])], (AnswerTally.company_id,))
    for company_id, row in rows.items():
        enough = responses.get((company_id,), 0) >= min_responses
        row["nps"] = nps_of(scores.get((company_id,), {}).get("nps", {})) if enough else None
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


def decided_reviews(limit: int = 20) -> list[tuple[AdviceReview, str]]:
    """The latest decided advice of every company, for an admin to reopen: (review, company)."""
    return db.session.execute(
        sa.select(AdviceReview, Company.name).join(Company, Company.id == AdviceReview.company_id)
        .where(AdviceReview.status != "pending").order_by(AdviceReview.reviewed_at.desc()).limit(limit)).all()
