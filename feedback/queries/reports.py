"""The company report (CONTRACT §6), aggregated in SQL.

Each query returns a handful of rows (one per stage and question at most); Python only adds
those few rows up and withholds groups under the response threshold.
"""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from ..extensions import db
from ..models import STAGES, Answer, Application, Company, FeedbackRequest, Question, Response
from ..survey.definitions import BAND_KEYS, LIKERT_KEYS

PROMOTER_MIN = 9
DETRACTOR_MAX = 6


def request_counts(company_id: int) -> dict:
    """Requests mailed and answered, per audience."""
    rows = db.session.execute(
        sa.select(
            FeedbackRequest.audience,
            sa.func.count(FeedbackRequest.first_sent_at),
            sa.func.count(FeedbackRequest.answered_at),
        )
        .join(Application, Application.id == FeedbackRequest.application_id)
        .where(Application.company_id == company_id)
        .group_by(FeedbackRequest.audience)
    )
    counts = {audience: {"sent": 0, "completed": 0} for audience in ("candidate", "company")}
    for audience, sent, completed in rows:
        counts[audience] = {"sent": sent, "completed": completed}
    return counts


def _upto(upto: int | None) -> list:
    """The anonymity snapshot condition: only responses up to this id (None: all)."""
    return [] if upto is None else [Response.id <= upto]


def _numeric_by_stage(company_id: int, audience: str, upto: int | None = None) -> list[sa.Row]:
    """Per stage and question key: answers, their sum, promoters and detractors."""
    return db.session.execute(
        sa.select(
            Response.stage,
            Question.key,
            sa.func.count(Answer.number),
            sa.func.sum(Answer.number),
            sa.func.sum(sa.case((Answer.number >= PROMOTER_MIN, 1), else_=0)),
            sa.func.sum(sa.case((Answer.number <= DETRACTOR_MAX, 1), else_=0)),
        )
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .where(Response.company_id == company_id, Response.audience == audience, Answer.number.is_not(None),
               *_upto(upto))
        .group_by(Response.stage, Question.key)
    ).all()


def _responses_by_stage(company_id: int, audience: str, upto: int | None = None) -> dict[str, int]:
    return dict(
        db.session.execute(
            sa.select(Response.stage, sa.func.count())
            .where(Response.company_id == company_id, Response.audience == audience, *_upto(upto))
            .group_by(Response.stage)
        ).all()
    )


def _choice_counts(company_id: int, audience: str, key: str, upto: int | None = None) -> dict[str, int]:
    return dict(
        db.session.execute(
            sa.select(Answer.text, sa.func.count())
            .join(Response, Response.id == Answer.response_id)
            .join(Question, Question.id == Answer.question_id)
            .where(Response.company_id == company_id, Response.audience == audience, Question.key == key,
                   *_upto(upto))
            .group_by(Answer.text)
            .order_by(sa.func.count().desc(), Answer.text)
        ).all()
    )


def _group(responses: int, stats: dict[str, list[int]], keys: tuple[str, ...], min_responses: int,
           with_nps: bool) -> dict:
    """One group's figures, or nulls when fewer than ``min_responses`` stand behind it."""
    withheld = responses < min_responses
    questions = {}
    for key in keys:
        n, total = stats.get(key, [0, 0, 0, 0])[:2]
        questions[key] = {"mean": None if withheld or not n else total / n, "n": n}
    group = {"responses": responses, "withheld": withheld}
    if with_nps:
        n, _total, promoters, detractors = stats.get("nps", [0, 0, 0, 0])
        group["nps"] = None if withheld or not n else 100.0 * (promoters - detractors) / n
    group["questions"] = questions
    return group


def _add(target: dict[str, list[int]], key: str, values: list[int]) -> None:
    current = target.setdefault(key, [0, 0, 0, 0])
    for index, value in enumerate(values):
        current[index] += int(value or 0)


def candidate_experience(company_id: int, min_responses: int, upto: int | None = None) -> dict:
    """NPS and question means overall and per stage, withheld under the threshold."""
    per_stage: dict[str, dict[str, list[int]]] = defaultdict(dict)
    overall: dict[str, list[int]] = {}
    for stage, key, n, total, promoters, detractors in _numeric_by_stage(company_id, "candidate", upto):
        values = [n, total, promoters, detractors]
        _add(per_stage[stage], key, values)
        _add(overall, key, values)
    responses = _responses_by_stage(company_id, "candidate", upto)
    total_responses = sum(responses.values())
    result = _group(total_responses, overall, LIKERT_KEYS, min_responses, with_nps=True)
    withheld = result["withheld"]
    decline = _choice_counts(company_id, "candidate", "decline_reasons", upto)
    result["decline_reasons"] = None if withheld else decline
    result["by_stage"] = {
        stage: _group(responses.get(stage, 0), per_stage.get(stage, {}), LIKERT_KEYS, min_responses, with_nps=True)
        for stage in STAGES
    }
    return result


def candidate_feedback(company_id: int) -> dict:
    """What the company's contacts said about the candidates they declined (their own answers)."""
    stats: dict[str, list[int]] = {}
    for _stage, key, n, total, promoters, detractors in _numeric_by_stage(company_id, "company"):
        _add(stats, key, [n, total, promoters, detractors])
    responses = sum(_responses_by_stage(company_id, "company").values())
    bands = {key: {"mean": (stats[key][1] / stats[key][0]) if stats.get(key, [0])[0] else None,
                   "n": stats.get(key, [0])[0]} for key in BAND_KEYS}
    reconsider_n, reconsider_yes = stats.get("reconsider", [0, 0])[:2]
    return {
        "responses": responses,
        "reasons": _choice_counts(company_id, "company", "reasons"),
        "bands": bands,
        "open_to_future_roles": (reconsider_yes / reconsider_n) if reconsider_n else None,
    }


def company_report(company: Company, min_responses: int, upto: int | None = None) -> dict:
    """The company's whole aggregate, as `feedback report --format json` prints it.

    ``upto`` limits candidate answers to responses up to that id (the API's anonymity snapshot).
    """
    return {
        "company": company.name,
        "min_responses": min_responses,
        "requests": request_counts(company.id),
        "candidate_experience": candidate_experience(company.id, min_responses, upto),
        "candidate_feedback": candidate_feedback(company.id),
    }
