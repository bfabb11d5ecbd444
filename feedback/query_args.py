"""Query-string values, one rule per kind: a bad value is a 400 that says what is expected.

Every page and API endpoint that takes numbers, ids or months from the query string reads them
here, so that no value a visitor can type reaches the database or ``datetime`` unchecked.
"""
from __future__ import annotations

import re

from flask import abort

MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds
MAX_PAGE = 1_000_000
MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
FIRST_YEAR, LAST_YEAR = 1970, 9998  # the month after LAST_YEAR-12 must still be a date


def int_arg(args, name: str, default: int | None, low: int, high: int, *, empty_ok: bool = True) -> int | None:
    """``args[name]`` as a whole number from ``low`` to ``high``; ``default`` when absent.

    An empty value (``?page=``, what an HTML form sends for a blank box) is the default too, unless
    ``empty_ok`` is false: the JSON API documents integers, and ``?page=`` is not one.
    """
    if name not in args:
        return default
    raw = args[name]
    if raw == "" and empty_ok:
        return default
    # ASCII digits only: str.isdigit() also takes "²" (int() fails on it) and 5,000-digit numbers.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 20 and low <= int(raw) <= high):
        abort(400, f"{name} must be a whole number from {low} to {high}.")
    return int(raw)


def id_arg(args, name: str) -> int | None:
    """An optional row id (``?position=12``)."""
    return int_arg(args, name, None, 1, MAX_ID)


def page_arg(args, name: str = "page", *, empty_ok: bool = True) -> int:
    """A page number, from 1."""
    return int_arg(args, name, 1, 1, MAX_PAGE, empty_ok=empty_ok)


def choice_arg(args, name: str, choices) -> str | None:
    """An optional value among ``choices``."""
    raw = args.get(name, "")
    if raw == "":
        return None
    if raw not in choices:
        abort(400, f"{name} must be one of {', '.join(choices)}.")
    return raw


def month_arg(args, name: str) -> str | None:
    """An optional month, ``YYYY-MM``, of the years FIRST_YEAR to LAST_YEAR."""
    raw = args.get(name, "")
    if raw == "":
        return None
    if not (MONTH.fullmatch(raw) and FIRST_YEAR <= int(raw[:4]) <= LAST_YEAR):
        abort(400, f"{name} must be a month written YYYY-MM, from {FIRST_YEAR} to {LAST_YEAR}.")
    return raw


def month_range(args) -> tuple[str | None, str | None]:
    """``?from=`` and ``?to=`` months; from after to is refused."""
    month_from, month_to = month_arg(args, "from"), month_arg(args, "to")
    if month_from and month_to and month_from > month_to:
        abort(400, f"The period starts ({month_from}) after it ends ({month_to}): swap the two months.")
    return month_from, month_to
