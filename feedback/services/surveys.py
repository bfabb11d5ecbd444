"""Keeping the stored surveys in step with their built-in definitions."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy.orm import aliased

from ..extensions import db
from ..i18n import SHIPPED, babel_name
from ..models import Question, Survey
from ..surveys.definitions import BUILTIN_SURVEYS

log = logging.getLogger(__name__)


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


def _worded(question: dict) -> dict:
    """One question's prompt, help and option labels in the current language; keys, kinds and
    choice codes unchanged (choices are [code, label])."""
    words = {name: gettext(question[name]) for name in ("prompt", "help_text") if question.get(name)}
    options = question.get("options")
    if options:
        words["options"] = ([[code, gettext(label)] for code, label in options] if question["kind"] == "choices"
                            else [gettext(label) for label in options])
    return {**question, **words}


def translated_spec(spec: dict, tag: str) -> dict:
    """The built-in survey ``spec`` worded in the shipped language ``tag``."""
    with force_locale(babel_name(tag)):
        return {**spec, "title": gettext(spec["title"]), "questions": [_worded(q) for q in spec["questions"]]}


def ensure_builtin_surveys() -> dict[str, Survey]:
    """Store the current version of each built-in survey, in every shipped language, if missing;
    return the English wordings by key (a request points at those; a form shows the reader's)."""
    surveys: dict[str, Survey] = {}
    for spec in BUILTIN_SURVEYS:
        for tag in SHIPPED:
            worded = spec if tag == "en" else translated_spec(spec, tag)
            survey = db.session.scalar(sa.select(Survey).where(
                Survey.key == spec["key"], Survey.version == spec["version"], Survey.locale == tag))
            if survey is None:
                survey = Survey(key=spec["key"], version=spec["version"], locale=tag, audience=spec["audience"],
                                title=worded["title"])
                survey.questions = [Question(**_question_fields(i, q)) for i, q in enumerate(worded["questions"], start=1)]
                db.session.add(survey)
                db.session.flush()
            elif tag != "en" and not _matches(survey, worded):
                # A translation changed since this wording was stored: the stored one stays in use (answers
                # point at it) until the version is raised; nothing stops for it.
                log.warning("survey %r version %s (%s) is stored with other wording than the catalogue's; "
                            "raise its version to show the new translation", spec["key"], spec["version"], tag)
            elif not _matches(survey, worded):
                raise SurveyDefinitionError(
                    f"survey {spec['key']!r} version {spec['version']} ({tag}) is stored with other wording; "
                    "raise its version in surveys/definitions.py"
                )
            if tag == "en":
                surveys[spec["key"]] = survey
    return surveys


def survey_in(survey_id: int, tag: str) -> int:
    """The id of the wording of survey ``survey_id``'s version in language ``tag``; ``survey_id``
    itself when that language is not stored (yet: it is at the next import)."""
    cache = current_app.extensions.setdefault("feedback_survey_languages", {})
    key = (survey_id, tag)
    if key not in cache:
        same = aliased(Survey)
        cache[key] = db.session.scalar(
            sa.select(Survey.id).join(same, sa.and_(same.key == Survey.key, same.version == Survey.version))
            .where(same.id == survey_id, Survey.locale == tag)) or survey_id
    return cache[key]


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
    locale: str
    audience: str
    title: str
    questions: tuple[StoredQuestion, ...]


def stored_survey(survey_id: int) -> StoredSurvey | None:
    """The survey version with this id, kept on the app after its first read: the link pages then
    cost no query for the survey and its questions (a stored version never changes)."""
    cache = current_app.extensions.setdefault("feedback_surveys", {})
    if survey_id not in cache:
        survey = db.session.execute(
            sa.select(Survey.id, Survey.key, Survey.version, Survey.locale, Survey.audience, Survey.title)
            .where(Survey.id == survey_id)
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
