"""Outcomes sent as JSON: the same validation and import as the CSV (services/outcomes_csv.py)."""
from __future__ import annotations

from ..services.outcomes_json import check_items, problem_json

__all__ = ["MAX_ITEMS", "check_items", "problem_json", "records_from_json"]

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
