"""Follow-up speed (CONTRACT §6, ``follow_up``): how soon a company's contacts gave their feedback.

Working days are Monday to Friday (``workdays``). Each company answer carries its working days
from the decision (``answered_working_days``), so the counts and the median are SQL over that
column. ``by_speed`` splits the candidate-experience NPS by whether the company's feedback about
the same application came within the SLA, each group under the response threshold; it is taken
as of one moment (the anonymity snapshot's last response, or now), so that neither the
company's own answers nor the passing of a due date moves a single candidate between groups
between two threshold steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Answer, Application, FeedbackRequest, Question, Response
from ..surveys.scoring import nps_of
from ..timeutil import utcnow
from ..workdays import latest_decision_over

SPEEDS = ("within_sla", "late_or_never")


@dataclass(frozen=True)
class Speed:
    sla_days: int
    today: date

    @property
    def overdue_decisions(self) -> date:
        """Unanswered feedback on decisions of this day or earlier is overdue today."""
        return latest_decision_over(self.today, self.sla_days)


def _company_requests(company_id: int):
    requests = FeedbackRequest.__table__.c
    return (sa.select().select_from(FeedbackRequest.__table__)
            .join(Application, Application.id == requests.application_id)
            .where(requests.company_id == company_id, requests.audience == "company",
                   requests.first_sent_at.is_not(None)))


def median(histogram: dict[int, int]) -> float | None:
    """The median of values counted as {value: times}; None with none."""
    n = sum(histogram.values())
    if not n:
        return None
    ordered = sorted(histogram.items())

    def nth(index: int) -> int:
        for value, count in ordered:
            if index < count:
                return value
            index -= count
        raise IndexError(index)

    return (nth((n - 1) // 2) + nth(n // 2)) / 2


def company_feedback(company_id: int, speed: Speed) -> dict:
    """due, given, within_sla, overdue and median_days of the company's contacts' feedback."""
    requests = FeedbackRequest.__table__.c
    unanswered = requests.answered_at.is_(None)
    row = db.session.execute(_company_requests(company_id).add_columns(
        sa.func.count().filter(sa.or_(requests.cancelled_at.is_(None), ~unanswered)).label("due"),
        sa.func.count(requests.answered_at).label("given"),
        sa.func.count().filter(requests.answered_working_days <= speed.sla_days).label("within_sla"),
        sa.func.count().filter(unanswered, requests.cancelled_at.is_(None),
                               Application.decided_on <= speed.overdue_decisions).label("overdue"),
    )).one()
    return {"due": row.due, "given": row.given, "within_sla": row.within_sla, "overdue": row.overdue,
            "median_days": median(days_histogram(company_id))}


def days_histogram(company_id: int) -> dict[int, int]:
    """{working days from decision to answer: answers} of the company's contacts."""
    days = FeedbackRequest.__table__.c.answered_working_days
    return dict(db.session.execute(_company_requests(company_id).add_columns(days, sa.func.count())
                                   .where(days.is_not(None)).group_by(days)).all())


def _decision_month():
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(Application.decided_on, "YYYY-MM")
    return sa.func.strftime("%Y-%m", Application.decided_on)


def median_by_month(company_id: int) -> list[tuple[str, float, int]]:
    """(decision month 'YYYY-MM', median working days to the answer, answers) per month, oldest first."""
    days, month = FeedbackRequest.__table__.c.answered_working_days, _decision_month().label("month")
    histograms: dict[str, dict[int, int]] = {}
    for month_value, value, count in db.session.execute(
            _company_requests(company_id).add_columns(month, days, sa.func.count())
            .where(days.is_not(None)).group_by(month, days)).all():
        histograms.setdefault(month_value, {})[value] = count
    return [(key, median(histogram), sum(histogram.values())) for key, histogram in sorted(histograms.items())]


def _moment(upto: int | None) -> datetime:
    if upto is None:
        return utcnow()
    return db.session.scalar(sa.select(Response.submitted_at).where(Response.id == upto)) or utcnow()


def by_speed(company_id: int, sla_days: int, min_responses: int, upto: int | None = None) -> dict:
    """The candidate-experience NPS of candidates whose company feedback came within the SLA against
    those whose came late or had not come, as of the snapshot (responses up to ``upto``; all when None).

    Applications whose company feedback was still not due at that moment are in neither group.
    """
    moment = _moment(upto)
    speed = Speed(sla_days, moment.date())
    candidate_request, contact_request = aliased(FeedbackRequest), aliased(FeedbackRequest)
    answered = sa.and_(contact_request.answered_at.is_not(None), contact_request.answered_at <= moment)
    group = sa.case(
        (sa.and_(answered, contact_request.answered_working_days <= sla_days), "within_sla"),
        (answered, "late_or_never"),
        (sa.and_(contact_request.cancelled_at.is_(None), Application.decided_on <= speed.overdue_decisions),
         "late_or_never"),
        else_=None).label("speed")
    nps_question = sa.select(Question.id).where(Question.key == "nps")
    statement = (
        sa.select(group, Answer.number, sa.func.count(sa.distinct(Response.id)))
        .select_from(Response)
        .join(candidate_request, candidate_request.id == Response.request_id)
        .join(Application, Application.id == candidate_request.application_id)
        .join(contact_request, sa.and_(contact_request.application_id == Application.id,
                                       contact_request.audience == "company",
                                       contact_request.first_sent_at.is_not(None)))
        .outerjoin(Answer, sa.and_(Answer.response_id == Response.id, Answer.question_id.in_(nps_question)))
        .where(Response.company_id == company_id, Response.audience == "candidate")
        .group_by(group, Answer.number))
    if upto is not None:
        statement = statement.where(Response.id <= upto)
    counts: dict[str, dict] = {name: {} for name in SPEEDS}
    responses = dict.fromkeys(SPEEDS, 0)
    for name, number, count in db.session.execute(statement).all():
        if name is None:
            continue
        responses[name] += count
        if number is not None:
            counts[name][number] = counts[name].get(number, 0) + count
    result = {}
    for name in SPEEDS:
        withheld = responses[name] < min_responses
        result[name] = {"responses": responses[name], "withheld": withheld,
                        "nps": None if withheld else nps_of(counts[name])}
    return result


def follow_up(company_id: int, sla_days: int, min_responses: int, upto: int | None = None,
              today: date | None = None) -> dict:
    """The report's ``follow_up`` object (CONTRACT §6)."""
    speed = Speed(sla_days, today or utcnow().date())
    return {"sla_days": sla_days, "company_feedback": company_feedback(company_id, speed),
            "by_speed": by_speed(company_id, sla_days, min_responses, upto)}


@dataclass(frozen=True)
class MonthSpeed:
    month: str  # 'YYYY-MM'
    median_days: float
    answers: int


def dashboard_follow_up(company_id: int, sla_days: int, min_responses: int, upto: int | None) -> dict:
    """The dashboard's follow-up card: the report's object, the share on time of the feedback due by
    now (answered, or overdue), and the median working days per decision month."""
    result = follow_up(company_id, sla_days, min_responses, upto)
    feedback = result["company_feedback"]
    settled = feedback["given"] + feedback["overdue"]
    result["settled"] = settled
    result["on_time_share"] = feedback["within_sla"] / settled if settled else None
    result["months"] = [MonthSpeed(*row) for row in median_by_month(company_id)]
    return result
