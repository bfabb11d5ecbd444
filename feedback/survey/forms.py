"""WTForms forms built from a survey's stored questions: no hand-written class per survey."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import Question, Survey
from ..surveys.definitions import NOT_APPLICABLE
from ..surveys.rules import (
    Case,
    applicable_questions,
    offers_not_applicable,
)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def no_nul(form, field) -> None:
    """PostgreSQL cannot store NUL characters; say so instead of failing."""
    if field.data and "\x00" in field.data:
        raise ValidationError(_("Remove the invisible NUL characters from this text."))


def _scale_choices(question: Question) -> list[SelectChoice]:
    if question.kind == "nps":
        return [SelectChoice(str(value)) for value in range(11)]
    return [SelectChoice(str(value), label) for value, label in enumerate(question.options, start=1)]


def _field(question: Question, application: Case, company: str):
    label = question.prompt.replace("{company}", company)
    required = [InputRequired(message=_("Please answer this question."))] if question.required else [Optional()]
    description = (question.help_text or "").replace("{company}", company)
    if question.kind in ("nps", "likert", "band"):
        choices = _scale_choices(question)
        if offers_not_applicable(question, application):
            choices.append(SelectChoice(NOT_APPLICABLE, _("Does not apply")))
        return _radio(label, choices, required, description)
    if question.kind == "yesno":
        return _radio(label, [SelectChoice("yes", _("Yes")), SelectChoice("no", _("No"))], required, description)
    if question.kind == "choices":
        validators = (
            [InputRequired(message=_("Please choose at least one."))] if question.required else [Optional()]
        )
        return MultiCheckboxField(
            label, choices=[SelectChoice(code, label) for code, label in question.options], validators=validators, description=description
        )
    if question.kind == "text":
        limit = question.max_length or 2000
        return TextAreaField(
            label,
            validators=[Optional(), Length(max=limit, message=_("Please keep this under %(limit)s characters.", limit=limit)), no_nul],
            description=description,
            render_kw={"maxlength": limit, "rows": 5},
        )
    raise ValueError(f"unknown question kind {question.kind!r}")


def _radio(label: str, choices: list[SelectChoice], validators: list, description: str) -> RadioField:
    return RadioField(label, choices=choices, validators=validators, description=description)


def survey_form_class(survey: Survey, application: Case, company: str) -> type[FlaskForm]:
    """A form class whose field names are the question keys (CONTRACT §6), for an application
    (its outcome and stage) at ``company``."""
    fields = {question.key: _field(question, application, company)
              for question in applicable_questions(survey, application)}
    return type(f"{survey.key.title().replace('_', '')}Form", (FlaskForm,), fields)


def answers_from_form(form: FlaskForm, questions: list[Question]) -> list[dict]:
    """The answers a valid form holds, as rows for the answers table (skipped questions left out)."""
    rows: list[dict] = []
    for question in questions:
        data = form[question.key].data
        if data in (None, "", []):
            continue
        if question.kind in ("nps", "likert", "band"):
            if data == NOT_APPLICABLE:
                rows.append({"question_id": question.id, "number": None, "text": NOT_APPLICABLE})
            else:
                rows.append({"question_id": question.id, "number": int(data), "text": None})
        elif question.kind == "yesno":
            rows.append({"question_id": question.id, "number": 1 if data == "yes" else 0, "text": data})
        elif question.kind == "choices":
            rows.extend({"question_id": question.id, "number": None, "text": code} for code in dict.fromkeys(data))
        else:
            text = data.strip()
            if text:
                rows.append({"question_id": question.id, "number": None, "text": text})
    return rows


class RenewLinkForm(FlaskForm):
    """The button on an expired link's page that asks for a fresh link."""
