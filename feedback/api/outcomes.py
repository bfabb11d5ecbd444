"""Outcomes sent as JSON: the same validation and import as the CSV (services/outcomes_csv.py)."""
from __future__ import annotations

from flask import current_app

from ..services.outcomes_csv import COLUMNS, Problem, check_records
from ..timeutil import today

MAX_ITEMS = 1000


def records_from_json(payload) -> tuple[list[dict] | None, bool, list[dict]]:
    """(items, skip_invalid, errors) from a body that is one outcome, a list, or {"outcomes": [...]}."""
    skip_invalid = False
    if isinstance(payload, dict) and "outcomes" in payload:
        skip_invalid = payload.get("skip_invalid", False)
        if not isinstance(skip_invalid, bool):  # "yes", 1, {}: say so rather than guess
            return None, False, [{"index": None, "field": "skip_invalid", "message": "must be true or false"}]
        payload = payload["outcomes"]
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        return None, skip_invalid, [{"index": None, "field": None, "message": "no outcomes given"}]
    if len(items) > MAX_ITEMS:
        return None, skip_invalid, [{"index": None, "field": None,
                                     "message": f"at most {MAX_ITEMS} outcomes per request"}]
    return items, skip_invalid, []


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
