"""Outcomes given as JSON objects (the API, the webhooks, the ATS connectors): the same validation as
a CSV row (outcomes_csv.check_records), with each item's index for a line number."""
from __future__ import annotations

from flask import current_app

from ..timeutil import today
from .outcomes_csv import COLUMNS, Problem, check_records


def _record(item) -> tuple[dict[str, str] | None, list[Problem]]:
    if not isinstance(item, dict):
        return None, [Problem(0, "item", "must be an object")]
    record, problems = {}, []
    for column in COLUMNS:
        value = item.get(column)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(Problem(0, column, "must be a string"))
            continue
        record[column] = value
    return record, problems


def check_items(items: list):
    """Validation results (row, problems) for JSON items, with 0-based indexes as line numbers."""
    triples = []
    for index, item in enumerate(items):
        record, problems = _record(item)
        problems = [Problem(index, p.column, p.message) for p in problems]
        triples.append((index, None if problems else record, problems))
    return check_records(triples, today(), unit="item", smtputf8=current_app.config["MAIL_SMTPUTF8"])


def problem_json(problem: Problem) -> dict:
    return {"index": problem.line, "field": problem.column, "message": problem.message}
