"""The company report (CONTRACT §6) from the figures module: three or four queries of a few rows.

Python only adds those rows up and withholds groups under the response threshold.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from ..models import STAGES, Answer, AnswerTally, Company, Response
from ..surveys.definitions import BAND_KEYS, LIKERT_KEYS
from ..surveys.scoring import nps_of
from . import figures
from .follow_up import follow_up

NUMBER_KEYS = ("nps", *LIKERT_KEYS, *BAND_KEYS, "reconsider")
CHOICE_KEYS = ("decline_reasons", "reasons")


def _group(responses: int, counts: figures.Counts, min_responses: int) -> dict:
    """One group's candidate-experience figures, or nulls when fewer than ``min_responses`` stand behind it."""
    withheld = responses < min_responses
    questions = {}
    for key in LIKERT_KEYS:
        value, n = figures.mean_of(counts.get(key, {}))
        questions[key] = {"mean": None if withheld else value, "n": n}
    return {"responses": responses, "withheld": withheld,
            "nps": None if withheld else nps_of(counts.get("nps", {})), "questions": questions}


def candidate_experience(by_stage: dict[str, figures.Counts], responses: dict[str, int], min_responses: int) -> dict:
    """NPS and question means overall and per stage, withheld under the threshold."""
    overall = figures.merged(by_stage.values())
    result = _group(sum(responses.values()), overall, min_responses)
    result["decline_reasons"] = (None if result["withheld"]
                                 else dict(figures.most_chosen_first(overall.get("decline_reasons", {}))))
    result["by_stage"] = {stage: _group(responses.get(stage, 0), by_stage.get(stage, {}), min_responses)
                          for stage in STAGES}
    return result


def candidate_feedback(by_stage: dict[str, figures.Counts], responses: dict[str, int]) -> dict:
    """What the company's contacts said about the candidates they declined (their own answers)."""
    counts = figures.merged(by_stage.values())
    bands = {}
    for key in BAND_KEYS:
        value, n = figures.mean_of(counts.get(key, {}))
        bands[key] = {"mean": value, "n": n}
    return {
        "responses": sum(responses.values()),
        "reasons": dict(figures.most_chosen_first(counts.get("reasons", {}))),
        "bands": bands,
        "open_to_future_roles": figures.mean_of(counts.get("reconsider", {}))[0],
    }


def _answer_counts(company_id: int, upto: int) -> dict[tuple, figures.Counts]:
    """What figures.tallied() gives, counted from the answers: candidate answers only up to response ``upto``."""
    def where(select: sa.Select) -> sa.Select:
        return select.where(Answer.company_id == company_id, Answer.audience.in_(figures.AUDIENCES),
                            sa.or_(Answer.audience != "candidate", Answer.response_id <= upto))

    groups = (Answer.audience, Answer.stage)
    numbers = figures.answer_counts(where, groups, NUMBER_KEYS)
    choices = figures.answer_counts(where, groups, CHOICE_KEYS, choices=True)
    return {group: numbers.get(group, {}) | choices.get(group, {}) for group in numbers.keys() | choices.keys()}


def company_report(company: Company, min_responses: int, upto: int | None = None) -> dict:
    """The company's whole aggregate, as `feedback report --format json` prints it.

    ``upto`` limits candidate answers to responses up to that id (the API's anonymity snapshot);
    the answers are then counted from the answers themselves, otherwise from the running tallies.
    Both give the same figures for the same responses (tests/test_report.py).
    """
    if upto is None:
        counts = figures.tallied([AnswerTally.company_id == company.id], (AnswerTally.audience, AnswerTally.stage))
    else:
        counts = _answer_counts(company.id, upto)
    conditions = [Response.company_id == company.id]
    if upto is not None:
        conditions.append(sa.or_(Response.audience != "candidate", Response.id <= upto))
    responses = figures.response_counts(conditions, (Response.audience, Response.stage))
    per_audience: dict[str, tuple[dict, dict]] = {audience: ({}, {}) for audience in figures.AUDIENCES}
    for (audience, stage), value in counts.items():
        per_audience[audience][0][stage] = value
    for (audience, stage), count in responses.items():
        per_audience[audience][1][stage] = count
    candidates, contacts = per_audience["candidate"], per_audience["company"]
    return {
        "company": company.name,
        "min_responses": min_responses,
        "requests": figures.request_counts(company.id),
        "candidate_experience": candidate_experience(*candidates, min_responses),
        "candidate_feedback": candidate_feedback(*contacts),
        "follow_up": follow_up(company.id, current_app.config["FEEDBACK_SLA_DAYS"], min_responses, upto),
    }
