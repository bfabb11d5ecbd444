"""Working days, Monday to Friday: when a company contact's feedback is due (CONTRACT §2, §6).

A day counts once it is over the line: from a decision on Friday to an answer on Monday is one
working day, an answer on the day of the decision none. No public holidays: they differ by country.
"""
from __future__ import annotations

from datetime import date, timedelta

_DAY = timedelta(days=1)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def working_days_between(start: date, end: date) -> int:
    """The working days after ``start`` up to and including ``end`` (0 when ``end`` is not later)."""
    if end <= start:
        return 0
    weeks, rest = divmod((end - start).days, 7)
    return weeks * 5 + sum(1 for offset in range(1, rest + 1) if is_working_day(start + offset * _DAY))


def add_working_days(start: date, days: int) -> date:
    """The day ``days`` working days after ``start`` (``start`` itself for 0)."""
    day = start
    while days > 0:
        day += _DAY
        if is_working_day(day):
            days -= 1
    return day


def latest_decision_over(today: date, days: int) -> date:
    """The latest decision date more than ``days`` working days before ``today``: feedback on a
    decision of that day or earlier, still missing today, is past ``days``. (Due dates only move
    forward with the decision date, so one date splits every decision.)"""
    day = today
    while working_days_between(day, today) <= days:
        day -= _DAY
    return day


def latest_decision_at(today: date, days: int) -> date:
    """The latest decision date at least ``days`` working days before ``today``."""
    return latest_decision_over(today, days - 1) if days > 0 else today
