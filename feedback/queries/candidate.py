"""What a candidate sees about their own applications: the company's released feedback."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..extensions import db
from ..models import AdviceReview, Answer, Application, Company, FeedbackRequest, Position, Question, Response
from ..surveys.definitions import BAND_KEYS


@dataclass
class ApplicationFeedback:
    company: str
    position: str
    stage: str
    outcome: str
    decided_on: object
    answered: bool = False
    reasons: list[str] = field(default_factory=list)
    bands: dict[str, int] = field(default_factory=dict)
    advice: str | None = None
    advice_pending: bool = False
    reconsider: bool | None = None
    feedback_on: object = None  # when the company's answer came (its response's day)

    @property
    def days_to_feedback(self) -> int | None:
        return (self.feedback_on - self.decided_on).days if self.feedback_on else None


def candidate_applications(candidate_id: int) -> list[ApplicationFeedback]:
    """Each application with the company's feedback: reasons and bands at once, advice once approved."""
    applications = db.session.execute(
        sa.select(Application.id, Company.name, Position.title, Application.stage, Application.outcome,
                  Application.decided_on)
        .join(Company, Company.id == Application.company_id)
        .join(Position, Position.id == Application.position_id)
        .where(Application.candidate_id == candidate_id)
        .order_by(Application.decided_on.desc(), Application.id.desc())
    ).all()
    feedback = {row[0]: ApplicationFeedback(*row[1:]) for row in applications}
    if not feedback:
        return []
    answers = db.session.execute(
        sa.select(FeedbackRequest.application_id, Question.key, Answer.number, Answer.text, AdviceReview.status,
                  AdviceReview.released_text, Response.submitted_at)
        .join(Response, Response.request_id == FeedbackRequest.id)
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(AdviceReview, AdviceReview.answer_id == Answer.id)
        .where(FeedbackRequest.application_id.in_(list(feedback)), FeedbackRequest.audience == "company")
    ).all()
    for application_id, key, number, text, review_status, released, submitted_at in answers:
        item = feedback[application_id]
        item.answered = True
        item.feedback_on = submitted_at.date()
        if key == "reasons":
            item.reasons.append(text)
        elif key in BAND_KEYS and number is not None:
            item.bands[key] = number
        elif key == "reconsider":
            item.reconsider = bool(number)
        elif key == "strengthen":
            if review_status == "approved":
                item.advice = released
            elif review_status == "pending":
                item.advice_pending = True
    return list(feedback.values())


def candidate_summary(items: list[ApplicationFeedback]) -> dict:
    """Across the candidate's applications: the most frequent reasons and the mean band per skill."""
    reasons = Counter(code for item in items for code in item.reasons)
    sums: dict[str, list[int]] = defaultdict(list)
    for item in items:
        for key, band in item.bands.items():
            sums[key].append(band)
    return {
        "reasons": reasons.most_common(3),
        "bands": {key: sum(values) / len(values) for key, values in sums.items()},
    }


def peer_bands(stages: set[str], exclude_candidate_id: int, min_responses: int) -> dict[str, dict[str, float]]:
    """Per stage, the mean band per skill of other candidates who stopped there (enough of them only)."""
    if not stages:
        return {}
    rows = db.session.execute(
        sa.select(Response.stage, Question.key, sa.func.sum(Answer.number), sa.func.count(Answer.number))
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .join(FeedbackRequest, FeedbackRequest.id == Response.request_id)
        .join(Application, Application.id == FeedbackRequest.application_id)
        .where(Response.audience == "company", Response.stage.in_(stages), Question.key.in_(BAND_KEYS),
               Answer.number.is_not(None), Application.candidate_id != exclude_candidate_id)
        .group_by(Response.stage, Question.key)
    ).all()
    result: dict[str, dict[str, float]] = defaultdict(dict)
    for stage, key, total, n in rows:
        if n >= min_responses:
            result[stage][key] = float(total) / n
    return dict(result)
