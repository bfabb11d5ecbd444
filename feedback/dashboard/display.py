"""What the dashboard shows in the reader's language: the labels of stored codes, and its numbers.

The codes' English labels live with their codes (models STAGE_LABELS, reports_text, surveys); here
each one is marked for translation, looked up when a page is rendered and handed to the templates
as plain text (escaped like any other text; a lazy string would be taken as markup). A code without
an entry here shows its English label.

The numbers are rounded exactly as the pages always rounded them ('%.2f', '%+.0f', '%.0f', '%g'),
then written with the locale's decimal separator and signs: the English output does not change.
"""
from __future__ import annotations

from decimal import Decimal
from functools import cache

from babel.numbers import get_minus_sign_symbol, get_plus_sign_symbol
from flask_babel import format_decimal, format_percent, get_locale

from ..i18n import SHIPPED, language_name_in_page, text_direction
from ..labels import BAND_NAMES, DECLINE_NAMES, QUESTION_NAMES, REASON_NAMES, STAGE_NAMES
from ..models import STAGE_LABELS
from ..reports_text import QUESTION_LABELS, REASON_LABELS
from ..surveys.definitions import BAND_KEYS, BAND_LABELS, DECLINE_REASONS


def _shown(names: dict, english: dict) -> dict[str, str]:
    return {code: str(names.get(code, label)) for code, label in english.items()}


def labels() -> dict:
    """The templates' label dicts (stage_labels, labels, decline_labels, reason_labels, band_labels)
    in the page's language, its direction (page_dir: the charts are mirrored on a right-to-left
    page), with the number helpers below."""
    return {**_labels_in(str(get_locale())), **NUMBERS}


@cache
def _labels_in(locale: str) -> dict:
    """The label dicts of one language, looked up once per process (the catalogues never change while it runs)."""
    return {
        "stage_labels": _shown(STAGE_NAMES, STAGE_LABELS), "labels": _shown(QUESTION_NAMES, QUESTION_LABELS),
        "decline_labels": _shown(DECLINE_NAMES, dict(DECLINE_REASONS)),
        "reason_labels": _shown(REASON_NAMES, REASON_LABELS), "band_keys": BAND_KEYS,
        "band_labels": [str(BAND_NAMES.get(label, label)) for label in BAND_LABELS],
        "language_names": {tag: language_name_in_page(tag) for tag in SHIPPED},
        "page_dir": text_direction(locale),
    }


def signed(value: float) -> str:
    """An NPS as '%+.0f' gives it: '+20', '-100' (the locale's signs)."""
    text = f"{value:+.0f}"
    locale = get_locale() or "en"
    sign = get_plus_sign_symbol(locale) if text[0] == "+" else get_minus_sign_symbol(locale)
    return sign + format_decimal(Decimal(text[1:]), "#,##0")


def mean(value: float) -> str:
    """A mean as '%.2f' gives it: '3.60' ('3,60' in German)."""
    return format_decimal(Decimal(f"{value:.2f}"), "0.00")


def percent(part: float, whole: float = 1) -> str:
    """``part`` of ``whole`` as '%.0f%%' of 100 * part / whole gives it: '60%'."""
    return format_percent(Decimal(f"{100 * part / whole:.0f}") / 100, "#,##0%")


def days(value: float) -> str:
    """A number of days as '%g' gives it: '3', '2.5'."""
    return format_decimal(Decimal(f"{value:g}"), "0.######")


def plural_count(value: float) -> int:
    """The number that picks a plural form for ``value``: gettext takes whole numbers only; a
    fraction (a median of 2.5 days) takes 100, the plural ('other') form in every shipped language."""
    return int(value) if value == int(value) else 100


# In the templates' context (not Jinja globals): fmt_mean(q.mean), fmt_percent(count, total), ...
NUMBERS = {"fmt_signed": signed, "fmt_mean": mean, "fmt_percent": percent, "fmt_days": days, "plural_count": plural_count}
