"""The stored questions by id, kept on the app: aggregates name questions by key, rows carry ids.

Imports nothing from feedback.survey, so services may use it without an import cycle.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Question


def question_catalog() -> dict[int, tuple[str, str]]:
    """Every question id's (key, kind), all survey versions. Stored questions never change, so the
    map is kept on the app and reloaded only when an id it does not know turns up."""
    cache = current_app.extensions.setdefault("feedback_figures", {})
    if "questions" not in cache:
        cache["questions"] = {qid: (key, kind) for qid, key, kind in
                              db.session.execute(sa.select(Question.id, Question.key, Question.kind))}
    return cache["questions"]


def question_of(question_id: int) -> tuple[str, str]:
    """(key, kind) of a question id."""
    catalog = question_catalog()
    if question_id not in catalog:
        current_app.extensions["feedback_figures"].pop("questions", None)
        catalog = question_catalog()
    return catalog.get(question_id, ("", ""))
