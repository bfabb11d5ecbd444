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
    """due, given, within_sla, overdue and median_days of the company's contacts' feedback, in one
    statement over the company's contact requests grouped by working days to the answer. An
    application's decision day is looked up only for the unanswered requests (overdue)."""
    requests = FeedbackRequest.__table__.c
    unanswered = sa.and_(requests.answered_at.is_(None), requests.cancelled_at.is_(None))
    decided_on = sa.select(Application.decided_on).where(Application.id == requests.application_id).scalar_subquery()
    days = requests.answered_working_days
    rows = db.session.execute(
        sa.select(days, sa.func.count(),
                  sa.func.count().filter(sa.or_(requests.cancelled_at.is_(None), requests.answered_at.is_not(None))),
                  sa.func.count(requests.answered_at),
                  sa.func.count().filter(unanswered, decided_on <= speed.overdue_decisions))
        .where(requests.company_id == company_id, requests.audience == "company", requests.first_sent_at.is_not(None))
        .group_by(days)).all()
    histogram = {value: count for value, count, *_ in rows if value is not None}
    return {"due": sum(row[2] for row in rows), "given": sum(row[3] for row in rows),
            "within_sla": sum(count for value, count in histogram.items() if value <= speed.sla_days),
            "overdue": sum(row[4] for row in rows), "median_days": median(histogram)}


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
    decided_on = (sa.select(Application.decided_on).where(Application.id == contact_request.application_id)
                  .scalar_subquery())
    group = sa.case(
        (sa.and_(answered, contact_request.answered_working_days <= sla_days), "within_sla"),
        (answered, "late_or_never"),
        (sa.and_(contact_request.cancelled_at.is_(None), decided_on <= speed.overdue_decisions), "late_or_never"),
        else_=None).label("speed")
    # The NPS answers from the company's own range of ix_answers_facts, by the NPS questions' ids.
    nps = (sa.select(Answer.response_id, Answer.number)
           .where(Answer.company_id == company_id, Answer.audience == "candidate",
                  Answer.question_id.in_(db.session.scalars(sa.select(Question.id).where(Question.key == "nps")).all()))
           .subquery("nps"))
    # Every request joined is the company's (both copy its id): the planner reads three ranges of the
    # company's rows instead of probing every request by id.
    statement = (
        sa.select(group, nps.c.number, sa.func.count(sa.distinct(Response.id)))
        .select_from(Response)
        .join(candidate_request, sa.and_(candidate_request.id == Response.request_id,
                                         candidate_request.company_id == company_id,
                                         candidate_request.audience == "candidate"))
        .join(contact_request, sa.and_(contact_request.application_id == candidate_request.application_id,
                                       contact_request.company_id == company_id,
                                       contact_request.audience == "company",
                                       contact_request.first_sent_at.is_not(None)))
        .outerjoin(nps, nps.c.response_id == Response.id)
        .where(Response.company_id == company_id, Response.audience == "candidate")
        .group_by(group, nps.c.number))
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
