"""The company report (CONTRACT §6), aggregated in SQL.

Each query returns a handful of rows (one per stage and question at most); Python only adds
those few rows up and withholds groups under the response threshold.
"""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from ..extensions import db
from ..models import STAGES, Answer, AnswerTally, Company, Question, RequestTally, Response
from ..surveys.definitions import BAND_KEYS, LIKERT_KEYS
from ..surveys.scoring import DETRACTOR_MAX, PROMOTER_MIN, nps
from .questions import question_catalog, question_of


def request_counts(company_id: int) -> dict:
    """Requests mailed and answered, per audience: two rows of request_tallies (kept by triggers)."""
    counts = {audience: {"sent": 0, "completed": 0} for audience in ("candidate", "company")}
    for audience, sent, completed in db.session.execute(
        sa.select(RequestTally.audience, RequestTally.sent, RequestTally.completed)
        .where(RequestTally.company_id == company_id)
    ).all():
        counts[audience] = {"sent": sent, "completed": completed}
    return counts


def _key_of(question_id: int) -> str:
    return question_of(question_id)[0]


def _counted(upto: int | None) -> list:
    """The anonymity snapshot on answers: candidate answers only up to response ``upto`` (None: all)."""
    if upto is None:
        return []
    return [sa.or_(Answer.audience != "candidate", Answer.response_id <= upto)]


def _numeric_counts(company_id: int, upto: int | None = None) -> dict[str, dict[str, dict[str, list[int]]]]:
    """{audience: {stage: {question key: [n, sum, promoters, detractors]}}} from one GROUP BY.

    Grouping by the answer's value as well (at most eleven per question) keeps the query a plain
    count over the company's part of the covering index ix_answers_facts; the sums are worked
    out from those few rows.
    """
    rows = db.session.execute(
        sa.select(Answer.audience, Answer.question_id, Answer.stage, Answer.number, sa.func.count())
        .where(Answer.company_id == company_id, Answer.audience.in_(("candidate", "company")),
               Answer.number.is_not(None), *_counted(upto))
        .group_by(Answer.audience, Answer.question_id, Answer.stage, Answer.number)
    ).all()
    result: dict[str, dict[str, dict[str, list[int]]]] = {"candidate": defaultdict(dict), "company": defaultdict(dict)}
    for audience, question_id, stage, number, count in rows:
        _count_value(result[audience][stage], _key_of(question_id), number, count)
    return result


def _count_value(stats: dict[str, list[int]], key: str, number: int, count: int) -> None:
    """Add ``count`` answers of ``number`` to the question's [n, sum, promoters, detractors]."""
    values = stats.setdefault(key, [0, 0, 0, 0])
    values[0] += count
    values[1] += number * count
    values[2] += count if number >= PROMOTER_MIN else 0
    values[3] += count if number <= DETRACTOR_MAX else 0


def _tallies(company_id: int) -> tuple[dict, dict[str, dict[str, int]]]:
    """What _numeric_counts and _choice_counts return, read from answer_tallies: one query over a
    few hundred rows, however many answers the company has."""
    numeric: dict[str, dict[str, dict[str, list[int]]]] = {"candidate": defaultdict(dict), "company": defaultdict(dict)}
    choices: dict[str, dict[str, int]] = {"decline_reasons": defaultdict(int), "reasons": defaultdict(int)}
    catalog = question_catalog()
    tallies = AnswerTally.__table__.c
    # All rows at once (.all()): iterating the result fetches one row per driver call.
    for audience, stage, question_id, value, count in db.session.execute(
        sa.select(tallies.audience, tallies.stage, tallies.question_id, tallies.value, tallies.count)
        .where(tallies.company_id == company_id)
    ).all():
        key, kind = catalog.get(question_id) or question_of(question_id)
        if kind == "choices":
            if key in choices:
                choices[key][value] += count
            continue
        _count_value(numeric[audience][stage], key, int(value), count)
    return numeric, {key: _most_chosen_first(values) for key, values in choices.items()}


def _most_chosen_first(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _responses_by_stage(company_id: int, upto: int | None = None) -> dict[str, dict[str, int]]:
    """{audience: {stage: responses}}."""
    counted = [] if upto is None else [sa.or_(Response.audience != "candidate", Response.id <= upto)]
    result: dict[str, dict[str, int]] = {"candidate": {}, "company": {}}
    for audience, stage, count in db.session.execute(
        sa.select(Response.audience, Response.stage, sa.func.count())
        .where(Response.company_id == company_id, *counted)
        .group_by(Response.audience, Response.stage)
    ).all():
        result.setdefault(audience, {})[stage] = count
    return result


def _choice_counts(company_id: int, upto: int | None = None) -> dict[str, dict[str, int]]:
    """{question key: {option: times chosen}} for the decline and rejection reasons, most chosen first."""
    rows = db.session.execute(
        sa.select(Answer.question_id, Answer.text, sa.func.count())
        .where(Answer.company_id == company_id, Answer.audience.in_(("candidate", "company")),
               Answer.question_id.in_(
                   sa.select(Question.id).where(Question.key.in_(("decline_reasons", "reasons")))), *_counted(upto))
        .group_by(Answer.question_id, Answer.text)
    ).all()
    counts: dict[str, dict[str, int]] = {"decline_reasons": defaultdict(int), "reasons": defaultdict(int)}
    for question_id, text, count in rows:
        if text is not None:
            counts[_key_of(question_id)][text] += count
    return {key: _most_chosen_first(values) for key, values in counts.items()}


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
        group["nps"] = None if withheld else nps(n, promoters, detractors)
    group["questions"] = questions
    return group


def _add(target: dict[str, list[int]], key: str, values: list[int]) -> None:
    current = target.setdefault(key, [0, 0, 0, 0])
    for index, value in enumerate(values):
        current[index] += int(value or 0)


def candidate_experience(numeric: dict[str, dict[str, list[int]]], responses: dict[str, int],
                         decline: dict[str, int], min_responses: int) -> dict:
    """NPS and question means overall and per stage, withheld under the threshold."""
    overall: dict[str, list[int]] = {}
    for per_question in numeric.values():
        for key, values in per_question.items():
            _add(overall, key, values)
    result = _group(sum(responses.values()), overall, LIKERT_KEYS, min_responses, with_nps=True)
    result["decline_reasons"] = None if result["withheld"] else decline
    result["by_stage"] = {
        stage: _group(responses.get(stage, 0), numeric.get(stage, {}), LIKERT_KEYS, min_responses, with_nps=True)
        for stage in STAGES
    }
    return result


def candidate_feedback(numeric: dict[str, dict[str, list[int]]], responses: dict[str, int],
                       reasons: dict[str, int]) -> dict:
    """What the company's contacts said about the candidates they declined (their own answers)."""
    stats: dict[str, list[int]] = {}
    for per_question in numeric.values():
        for key, values in per_question.items():
            _add(stats, key, values)
    bands = {key: {"mean": (stats[key][1] / stats[key][0]) if stats.get(key, [0])[0] else None,
                   "n": stats.get(key, [0])[0]} for key in BAND_KEYS}
    reconsider_n, reconsider_yes = stats.get("reconsider", [0, 0])[:2]
    return {
        "responses": sum(responses.values()),
        "reasons": reasons,
        "bands": bands,
        "open_to_future_roles": (reconsider_yes / reconsider_n) if reconsider_n else None,
    }


def company_report(company: Company, min_responses: int, upto: int | None = None) -> dict:
    """The company's whole aggregate, as `feedback report --format json` prints it: three queries.

    ``upto`` limits candidate answers to responses up to that id (the API's anonymity snapshot);
    the answers are then counted from the answers themselves (a covering index), otherwise from
    the running tallies. Both give the same figures for the same responses (tests/test_report.py).
    """
    if upto is None:
        numeric, choices = _tallies(company.id)
    else:
        numeric, choices = _numeric_counts(company.id, upto), _choice_counts(company.id, upto)
    responses = _responses_by_stage(company.id, upto)
    return {
        "company": company.name,
        "min_responses": min_responses,
        "requests": request_counts(company.id),
        "candidate_experience": candidate_experience(numeric["candidate"], responses["candidate"],
                                                     choices["decline_reasons"], min_responses),
        "candidate_feedback": candidate_feedback(numeric["company"], responses["company"], choices["reasons"]),
    }
