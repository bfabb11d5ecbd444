"""Figures for the recruiter workspace: per-company rates, batch funnels, the review queue."""
from __future__ import annotations

from dataclasses import dataclass, field

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
    Position,
    Question,
    Response,
    User,
    overdue_feedback,
)
from ..surveys.definitions import BAND_KEYS
from ..surveys.scoring import nps_of
from . import figures
from .filters import ResponseFilter, answers_under


def snapshot_nps(company_id: int, min_responses: int) -> float | None:
    """The company's candidate NPS on its anonymity snapshot (the dashboard's figure), or None when it
    has fewer than ``min_responses`` responses: never a live figure, which a list of who answered
    would let a reader split into one person's score."""
    flt, counted, _total = figures.snapshot(ResponseFilter(company_id=company_id), min_responses)
    if counted < max(min_responses, 1):
        return None
    counts = figures.answer_counts(lambda s: answers_under(flt.shape, s), (), ("nps",), params=flt.params())
    return nps_of(counts.get((), {}).get("nps", {}))


def company_overview(user: User, min_responses: int) -> list[dict]:
    """Per visible company: requests sent and answered per audience, pending answers, NPS.

    Sorted lowest NPS first (companies without enough responses last), so that the companies
    needing attention come first.
    """
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
    for company_id, row in rows.items():
        row["nps"] = snapshot_nps(company_id, min_responses)
        row["pending"] = (row["candidate"][0] - row["candidate"][1]) + (row["company"][0] - row["company"][1])
    return sorted(rows.values(), key=lambda r: (r["nps"] is None, r["nps"] if r["nps"] is not None else 0, r["name"]))


def overdue_contacts(user: User, sla_days: int, today, page: int = 1, per_page: int = 25) -> tuple[list[sa.Row], int]:
    """One page of the company contacts whose feedback is overdue in the user's companies, oldest
    decision first, and how many there are: company_id, company, contact, overdue (requests),
    oldest (decision date), last_reminded."""
    requests = FeedbackRequest.__table__.c
    last_reminded = (sa.select(sa.func.max(OutboxMessage.created_at))
                     .where(OutboxMessage.request_id == requests.id, OutboxMessage.kind == "reminder")
                     .correlate(FeedbackRequest.__table__).scalar_subquery())
    query = (sa.select(Company.id.label("company_id"), Company.name.label("company"),
                       requests.recipient_email.label("contact"), sa.func.count().label("overdue"),
                       sa.func.min(Application.decided_on).label("oldest"),
                       sa.func.max(last_reminded).label("last_reminded"))
             .select_from(FeedbackRequest.__table__)
             .join(Application, Application.id == requests.application_id)
             .join(Company, Company.id == requests.company_id)
             .where(*overdue_feedback(sla_days, today))
             .group_by(Company.id, Company.name, requests.recipient_email))
    query = scope_to_companies(query, Company.id, user)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(sa.func.min(Application.decided_on), Company.name, requests.recipient_email)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


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


@dataclass
class PendingAdvice:
    """One piece of advice waiting for review, with what the company said alongside it."""

    review: AdviceReview
    text: str
    company: str
    position: str
    stage: str
    reasons: list[str] = field(default_factory=list)  # rejection reason codes, in the order given
    bands: dict[str, int] = field(default_factory=dict)  # skill key -> band 1..4


def pending_reviews(user: User) -> list[PendingAdvice]:
    """Advice waiting for review in the user's companies, oldest first, each with the reasons and
    bands the company gave in the same response (two queries, whatever the queue's length)."""
    query = scope_to_companies(
        sa.select(AdviceReview, Answer.text, Company.name, Position.title, Application.stage, Answer.response_id)
        .join(Answer, Answer.id == AdviceReview.answer_id)
        .join(Company, Company.id == AdviceReview.company_id)
        .join(Response, Response.id == Answer.response_id)
        .join(FeedbackRequest, FeedbackRequest.id == Response.request_id)
        .join(Application, Application.id == FeedbackRequest.application_id)
        .join(Position, Position.id == Application.position_id)
        .where(AdviceReview.status == "pending")
        .order_by(AdviceReview.id),
        AdviceReview.company_id, user,
    )
    by_response: dict[int, PendingAdvice] = {}
    items = []
    for review, text, company, position, stage, response_id in db.session.execute(query):
        item = PendingAdvice(review, text, company, position, stage)
        by_response[response_id] = item
        items.append(item)
    if by_response:
        for response_id, key, number, text in db.session.execute(
            sa.select(Answer.response_id, Question.key, Answer.number, Answer.text)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.response_id.in_(list(by_response)), Question.key.in_(("reasons", *BAND_KEYS)))
            .order_by(Answer.id)
        ):
            if key == "reasons" and text:
                by_response[response_id].reasons.append(text)
            elif key in BAND_KEYS and number is not None:
                by_response[response_id].bands[key] = number
    return items


def decided_reviews(limit: int = 20) -> list[tuple[AdviceReview, str]]:
    """The latest decided advice of every company, for an admin to reopen: (review, company)."""
    return db.session.execute(
        sa.select(AdviceReview, Company.name).join(Company, Company.id == AdviceReview.company_id)
        .where(AdviceReview.status != "pending").order_by(AdviceReview.reviewed_at.desc()).limit(limit)).all()


BATCH_ROW_ORDER = ("failed", "not sent", "cancelled", "queued", "sent", "answered")


def batch_rows(batch_id: int, user: User, page: int, per_page: int) -> tuple[list[sa.Row], int]:
    """One page of a batch's feedback requests in the user's companies, failures first, and how many
    there are: candidate, company, position, audience, recipient, status, error (of a failed e-mail).

    The status is the request's: answered; else its invitation's (failed, cancelled, queued, sent);
    "not sent" when no invitation was queued (the address had unsubscribed)."""
    requests = FeedbackRequest.__table__.c
    invitation = (sa.select(OutboxMessage.id).where(OutboxMessage.request_id == requests.id,
                                                    OutboxMessage.kind == "invitation")
                  .order_by(OutboxMessage.id.desc()).limit(1).correlate(FeedbackRequest.__table__).scalar_subquery())
    status = sa.case((requests.answered_at.is_not(None), "answered"),
                     (OutboxMessage.status.is_(None), "not sent"), else_=OutboxMessage.status)
    rank = sa.case(*((status == name, index) for index, name in enumerate(BATCH_ROW_ORDER)), else_=len(BATCH_ROW_ORDER))
    query = scope_to_companies(
        sa.select(Application.candidate_name.label("candidate"), Company.name.label("company"),
                  Position.title.label("position"), Application.stage, Application.outcome, requests.audience,
                  requests.recipient_email.label("recipient"), status.label("status"),
                  sa.case((OutboxMessage.status == "failed", OutboxMessage.last_error)).label("error"))
        .select_from(FeedbackRequest.__table__)
        .join(Application, Application.id == requests.application_id)
        .join(Company, Company.id == requests.company_id)
        .join(Position, Position.id == Application.position_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == invitation)
        .where(Application.import_batch_id == batch_id),
        requests.company_id, user,
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(rank, Company.name, Application.candidate_name, requests.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total
