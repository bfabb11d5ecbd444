"""Everything held about a candidate, for them to download (CONTRACT §7, GDPR Art. 15)."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Answer, Application, Candidate, Company, FeedbackRequest, OutboxMessage, Question, Response
from .candidate import candidate_applications


def _emails(candidate: Candidate) -> list[dict]:
    """Every e-mail that went to the candidate: its kind and when (never its body or link)."""
    requests = (sa.select(FeedbackRequest.id).join(Application, Application.id == FeedbackRequest.application_id)
                .where(Application.candidate_id == candidate.id, FeedbackRequest.audience == "candidate"))
    rows = db.session.execute(
        sa.select(OutboxMessage.kind, OutboxMessage.sent_at).where(
            OutboxMessage.status == "sent",
            sa.or_(OutboxMessage.candidate_id == candidate.id, OutboxMessage.request_id.in_(requests)))
        .order_by(OutboxMessage.sent_at, OutboxMessage.id)).all()
    return [{"kind": kind, "sent_at": sent_at.isoformat(timespec="seconds")} for kind, sent_at in rows]


def _own_answers(candidate_id: int) -> list[dict]:
    """The candidate's own survey answers, per company (free text included: they wrote it)."""
    rows = db.session.execute(
        sa.select(Company.name, Response.submitted_at, Question.key, Answer.number, Answer.text)
        .join(Application, Application.company_id == Company.id)
        .join(FeedbackRequest, FeedbackRequest.application_id == Application.id)
        .join(Response, Response.request_id == FeedbackRequest.id)
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .where(Application.candidate_id == candidate_id, Response.audience == "candidate")
        .order_by(Response.submitted_at, Question.position, Answer.id)).all()
    answers: dict[tuple, dict] = {}
    for company, submitted_at, key, number, text in rows:
        entry = answers.setdefault((company, submitted_at), {
            "company": company, "submitted_at": submitted_at.isoformat(timespec="seconds"), "answers": {}})
        value = number if number is not None else text
        previous = entry["answers"].get(key)
        entry["answers"][key] = value if previous is None else [*(previous if isinstance(previous, list)
                                                                   else [previous]), value]
    return list(answers.values())


def candidate_export(candidate: Candidate, stopped: str | None) -> dict:
    """The candidate's data: who they are to us, each application with the feedback released to them
    (advice under review is named, never shown), the e-mails sent, their own answers, and whether
    they stopped our mail (``stopped``: "all", "requests" or None)."""
    applications = []
    for item in candidate_applications(candidate.id):
        feedback = None
        if item.answered:
            feedback = {"reasons": item.reasons, "bands": item.bands,
                        "advice": item.advice if item.advice is not None else
                        "under review" if item.advice_pending else None}
            if item.reconsider:
                feedback["open_to_future_roles"] = True
        applications.append({"company": item.company, "position": item.position, "stage": item.stage,
                             "outcome": item.outcome, "decided_on": item.decided_on.isoformat(),
                             "feedback": feedback})
    return {
        "about": "Everything the feedback service holds about you, as of this download.",
        "you": {"name": candidate.name, "email": candidate.email},
        "applications": applications,
        "emails_sent_to_you": _emails(candidate),
        "your_answers": _own_answers(candidate.id),
        "mail_stopped": {"all": "everything", "requests": "surveys only"}.get(stopped or "", "no"),
    }
