"""How the e-mails write dates, lists of names and stages: one place each, for every e-mail template.

Each is in the language of the e-mail being rendered (``render_items`` forces it with Flask-Babel's
``force_locale``); counts are whole messages with ``ngettext`` where they are written.
"""
from __future__ import annotations

from datetime import date

from babel.lists import format_list
from flask_babel import format_date, get_locale

from ..labels import STAGE_IN_SENTENCE


def _english() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "en"


def long_date(day: date, weekday: bool = False) -> str:
    """'5 November 2026', or 'Thursday, 5 November 2026' where the weekday helps (a due date); in
    another language, its own long (full, with the weekday) date."""
    if _english():
        return format_date(day, "EEEE, d MMMM y" if weekday else "d MMMM y")
    return format_date(day, "full" if weekday else "long")


def name_list(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C' (English without the serial comma), as the e-mail's language joins them."""
    return format_list(names, locale="en_GB" if _english() else get_locale())


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 candidate', '2 candidates': the count and its English word (the CLI's output; e-mails use ngettext)."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def stage_name(stage: str | None) -> str:
    """A stage as the survey form names it, within a sentence: 'screen' is 'screening'."""
    return str(STAGE_IN_SENTENCE[stage]) if stage in STAGE_IN_SENTENCE else (stage or "").lower()


# What every e-mail template may call: {{ long_date(day) }}, {{ stage_name(s) }}.
TEMPLATE_HELPERS = {"long_date": long_date, "stage_name": stage_name}
