"""How the e-mails write dates, counts and stages: one place each, for every e-mail template.

Flask-Babel comes later (its ``format_date`` and ``ngettext`` take these functions' places); until
then the names are English and fixed here, whatever the process locale says.
"""
from __future__ import annotations

from datetime import date

from ..models import STAGE_LABELS

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def long_date(day: date, weekday: bool = False) -> str:
    """'5 November 2026', or 'Thursday, 5 November 2026' where the weekday helps (a due date)."""
    text = f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return f"{_WEEKDAYS[day.weekday()]}, {text}" if weekday else text


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 candidate', '2 candidates': the count and its word."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def stage_name(stage: str | None) -> str:
    """A stage as the survey form names it, within a sentence: 'screen' is 'screening'."""
    return STAGE_LABELS.get(stage, stage or "").lower()


# What every e-mail template may call: {{ long_date(day) }}, {{ plural(n, "candidate") }}, {{ stage_name(s) }}.
TEMPLATE_HELPERS = {"long_date": long_date, "plural": plural, "stage_name": stage_name}
