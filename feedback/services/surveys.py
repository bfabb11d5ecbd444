"""Keeping the stored surveys in step with their built-in definitions."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Question, Survey
from ..surveys.definitions import BUILTIN_SURVEYS


class SurveyDefinitionError(RuntimeError):
    """A stored survey version differs from its definition: the version must be raised."""


def _question_fields(position: int, spec: dict) -> dict:
    return {
        "key": spec["key"],
        "position": position,
        "kind": spec["kind"],
        "prompt": spec["prompt"],
        "help_text": spec.get("help_text"),
        "required": bool(spec.get("required", False)),
        "options": spec.get("options"),
        "max_length": spec.get("max_length"),
    }


def _matches(survey: Survey, spec: dict) -> bool:
    stored = [
        {c: getattr(q, c) for c in ("key", "position", "kind", "prompt", "help_text", "required", "options", "max_length")}
        for q in survey.questions
    ]
    wanted = [_question_fields(i, q) for i, q in enumerate(spec["questions"], start=1)]
    return stored == wanted and survey.title == spec["title"] and survey.audience == spec["audience"]


def ensure_builtin_surveys() -> dict[str, Survey]:
    """Store the current version of each built-in survey if missing; return them by key."""
    surveys: dict[str, Survey] = {}
    for spec in BUILTIN_SURVEYS:
        survey = db.session.scalar(
            sa.select(Survey).where(Survey.key == spec["key"], Survey.version == spec["version"])
        )
        if survey is None:
            survey = Survey(key=spec["key"], version=spec["version"], audience=spec["audience"], title=spec["title"])
            survey.questions = [Question(**_question_fields(i, q)) for i, q in enumerate(spec["questions"], start=1)]
            db.session.add(survey)
            db.session.flush()
        elif not _matches(survey, spec):
            raise SurveyDefinitionError(
                f"survey {spec['key']!r} version {spec['version']} is stored with other wording; "
                "raise its version in surveys/definitions.py"
            )
        surveys[spec["key"]] = survey
    return surveys


@dataclass(frozen=True)
class StoredQuestion:
    """A stored question's fields, read once (a stored version never changes)."""

    id: int
    key: str
    position: int
    kind: str
    prompt: str
    help_text: str | None
    required: bool
    options: list | None
    max_length: int | None


@dataclass(frozen=True)
class StoredSurvey:
    """A stored survey version with its questions in order, as the form pages need them."""

    id: int
    key: str
    version: int
    audience: str
    title: str
    questions: tuple[StoredQuestion, ...]


def stored_survey(survey_id: int) -> StoredSurvey | None:
    """The survey version with this id, kept on the app after its first read: the link pages then
    cost no query for the survey and its questions (a stored version never changes)."""
    cache = current_app.extensions.setdefault("feedback_surveys", {})
    if survey_id not in cache:
        survey = db.session.execute(
            sa.select(Survey.id, Survey.key, Survey.version, Survey.audience, Survey.title).where(Survey.id == survey_id)
        ).first()
        if survey is None:
            return None
        fields = list(StoredQuestion.__dataclass_fields__)
        questions = db.session.execute(
            sa.select(*(getattr(Question, name) for name in fields))
            .where(Question.survey_id == survey_id).order_by(Question.position)
        )
        cache[survey_id] = StoredSurvey(**survey._asdict(), questions=tuple(
            StoredQuestion(**question._asdict()) for question in questions))
    return cache[survey_id]
